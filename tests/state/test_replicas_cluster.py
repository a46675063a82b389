"""Two server processes (replicas) on one real PostgreSQL, both serving the real cluster: a
per-principal rate limit holds across both; a replica whose database is gone refuses (503) instead
of letting calls through unlimited; a database it cannot reach at start keeps it from starting."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.api.identity_support import audit_records, bearer, write_keys
from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.postgres import Postgres, create_database
from tests.support.server import Server, free_port, start_server

pytestmark = pytest.mark.cluster

CI_KEY = "kms_replicas-ci-bot-0123456789abcdef"
OTHER_KEY = "kms_replicas-other-0123456789abcdef"
# Two calls a minute: a token comes back every 30 s, far longer than the few calls below take.
PER_MINUTE = 2
START_FAILURE_TIMEOUT = 60


def replica_env(cluster: Cluster, standins: Path, keys: Path, database_url: str | None) -> dict[str, str]:
    env = server_env(cluster, standins, REPO / "policies" / "default.yaml")
    env["K8S_MCP_API_KEYS_FILE"] = str(keys)
    env["K8S_MCP_RATE_LIMIT_PER_MINUTE"] = str(PER_MINUTE)
    if database_url is not None:
        env["K8S_MCP_DATABASE_URL"] = database_url
    return env


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    path = tmp_path / "keys.yaml"
    write_keys(path, [("ci-bot", CI_KEY, None), ("other", OTHER_KEY, None)])
    return path


def start_pair(tmp: Path, env: dict[str, str]) -> tuple[Server, Server]:
    first = start_server(tmp, env, name="replica-a")
    try:
        return first, start_server(tmp, env, name="replica-b")
    except BaseException:
        first.stop()
        raise


@pytest.fixture
def replicas(
    cluster: Cluster, standin_dir: Path, tmp_path: Path, keys: Path, pg_url: str
) -> Iterator[tuple[Server, Server]]:
    pair = start_pair(tmp_path, replica_env(cluster, standin_dir, keys, pg_url))
    try:
        yield pair
    finally:
        for server in pair:
            server.stop()


def call(server: Server, key: str, cluster: Cluster) -> httpx.Response:
    return httpx.post(
        f"{server.url}/tools/kubectl",
        json={"command": "get namespaces"},
        headers=bearer(key, **{"X-Kubeconfig": cluster.admin_b64()}),
        timeout=60,
    )


def test_a_per_principal_rate_limit_holds_across_two_replicas(
    replicas: tuple[Server, Server], cluster: Cluster
) -> None:
    a, b = replicas
    answers = [call(server, CI_KEY, cluster) for server in (a, b, a, b)]
    assert [r.status_code for r in answers] == [200, 200, 429, 429]
    assert answers[0].json()["exit_code"] == 0 and "default" in answers[0].json()["output"]
    for refused in answers[2:]:
        assert refused.json()["detail"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60 // PER_MINUTE
    # the bucket is the principal's: another key still gets its own two, through either replica
    assert [call(server, OTHER_KEY, cluster).status_code for server in (b, a)] == [200, 200]
    # each replica audited its own refusal
    for server in (a, b):
        rejected = [r for r in audit_records(server) if r["decision"] == "rejected"]
        assert [(r["principal"], r["error_code"]) for r in rejected] == [("ci-bot", "rate_limited")]


def test_without_a_database_each_replica_keeps_its_own_buckets(
    cluster: Cluster, standin_dir: Path, tmp_path: Path, keys: Path
) -> None:
    """The contrast: what the shared buckets change (each pod alone lets PER_MINUTE through)."""
    a, b = start_pair(tmp_path, replica_env(cluster, standin_dir, keys, None))
    try:
        assert [call(server, CI_KEY, cluster).status_code for server in (a, b, a, b)] == [200, 200, 200, 200]
        assert call(a, CI_KEY, cluster).status_code == 429
    finally:
        a.stop()
        b.stop()


def test_a_replica_whose_database_is_gone_refuses_calls_instead_of_leaving_them_unlimited(
    cluster: Cluster, standin_dir: Path, tmp_path: Path, keys: Path, postgres: Postgres
) -> None:
    name = "t_gone"
    url = create_database(postgres, name)
    a = start_server(tmp_path, replica_env(cluster, standin_dir, keys, url), name="replica-gone")
    try:
        assert call(a, CI_KEY, cluster).status_code == 200
        with psycopg.connect(postgres.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        refused = call(a, CI_KEY, cluster)
        assert refused.status_code == 503
        detail = refused.json()["detail"]
        assert detail["code"] == "state_unavailable"
        password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        assert password not in refused.text and password not in a.log_path.read_text()
        assert password not in a.audit_log.read_text()
        assert audit_records(a)[-1]["decision"] == "rejected"
    finally:
        a.stop()


def test_a_server_whose_database_cannot_be_reached_does_not_start_and_hides_the_password(
    cluster: Cluster, standin_dir: Path, tmp_path: Path, keys: Path
) -> None:
    password = "canary-Passw0rd-never-printed"
    url = f"postgresql://k8smcp:{password}@127.0.0.1:{free_port()}/k8smcp"
    env = replica_env(cluster, standin_dir, keys, url)
    env["K8S_MCP_AUDIT_LOG"] = str(tmp_path / "audit.jsonl")
    proc = subprocess.run(
        [sys.executable, "-m", "k8s_mcp_server", "serve"],
        env={**os.environ, **env, "K8S_MCP_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=START_FAILURE_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 2
    assert "cannot start" in proc.stderr and "shared state (PostgreSQL)" in proc.stderr
    assert password not in proc.stderr + proc.stdout
