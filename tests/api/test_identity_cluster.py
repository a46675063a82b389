"""Identity end to end: API keys, a policy per principal, 401s, against the real API server."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.identity_support import (
    READER_POLICY,
    SCALER_POLICY,
    audit_lines,
    audit_records,
    bearer,
    call_tool,
    post,
    text_of,
    write_keys,
)
from tests.conftest import server_env
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

READER_KEY = "kms_reader-" + uuid.uuid4().hex
SCALER_KEY = "kms_scaler-" + uuid.uuid4().hex
LEAVER_KEY = "kms_leaver-" + uuid.uuid4().hex


@dataclass
class Setup:
    server: Server
    keys_file: Path
    reader_policy: Path
    scaler_policy: Path
    namespace: str


@pytest.fixture(scope="module")
def setup(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("identity")
    reader, scaler = tmp / "reader.yaml", tmp / "scaler.yaml"
    reader.write_text(READER_POLICY)
    scaler.write_text(SCALER_POLICY)
    keys = tmp / "keys.yaml"
    write_keys(
        keys, [("reader", READER_KEY, reader), ("scaler", SCALER_KEY, scaler), ("leaver", LEAVER_KEY, None)]
    )
    namespace = f"dev-{uuid.uuid4().hex[:10]}"
    cluster.kubectl_run("create", "namespace", namespace)
    cluster.kubectl_run("create", "deployment", "x", "--image=registry.invalid/x:1", "-n", namespace)
    env = {**server_env(cluster, standin_dir, reader), "K8S_MCP_API_KEYS_FILE": str(keys)}
    srv = start_server(tmp, env, name="identity")
    try:
        yield Setup(srv, keys, reader, scaler, namespace)
    finally:
        srv.stop()
        cluster.kubectl_run("delete", "namespace", namespace, "--wait=false", check=False)


def replicas(cluster: Cluster, namespace: str) -> int:
    out = cluster.kubectl_run("get", "deployment", "x", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
    return int(out.stdout)


def scale_to(namespace: str, n: int) -> str:
    return f"scale deployment x --replicas={n} -n {namespace}"


def test_the_same_scale_command_is_allowed_for_one_principal_and_denied_for_the_other_over_rest(
    setup: Setup, cluster: Cluster
) -> None:
    kubeconfig = {"X-Kubeconfig": cluster.admin_b64()}
    cluster.kubectl_run("scale", "deployment", "x", "--replicas=1", "-n", setup.namespace)

    denied = post(setup.server, "kubectl", scale_to(setup.namespace, 2), bearer(READER_KEY, **kubeconfig))
    assert denied.status_code == 403, denied.text
    assert denied.json()["detail"]["code"] == "policy_denied"
    assert replicas(cluster, setup.namespace) == 1

    allowed = post(setup.server, "kubectl", scale_to(setup.namespace, 2), bearer(SCALER_KEY, **kubeconfig))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["exit_code"] == 0
    assert replicas(cluster, setup.namespace) == 2

    records = {r["request_id"]: r for r in audit_records(setup.server) if r["event"] == "decision"}
    deny_record = records[denied.json()["detail"]["request_id"]]
    allow_record = records[allowed.json()["request_id"]]
    assert (deny_record["principal"], deny_record["decision"]) == ("reader", "deny")
    assert (allow_record["principal"], allow_record["decision"], allow_record["rule"]) == (
        "scaler",
        "allow",
        "scale-dev",
    )
    health = httpx.get(f"{setup.server.url}/health", timeout=10).json()
    revisions = {p["path"]: p["revision"] for p in health["policies"]}
    assert allow_record["policy_revision"] == revisions[str(setup.scaler_policy)]
    assert deny_record["policy_revision"] == revisions[str(setup.reader_policy)]
    assert allow_record["policy_revision"] != deny_record["policy_revision"]


async def test_the_same_scale_command_is_allowed_for_one_principal_and_denied_for_the_other_over_mcp(
    setup: Setup, cluster: Cluster
) -> None:
    kubeconfig = {"X-Kubeconfig": cluster.admin_b64()}
    cluster.kubectl_run("scale", "deployment", "x", "--replicas=1", "-n", setup.namespace)
    command = {"command": scale_to(setup.namespace, 3)}

    denied = await call_tool(setup.server, bearer(READER_KEY, **kubeconfig), "kubectl", command)
    assert denied.isError and "policy_denied" in text_of(denied)
    assert replicas(cluster, setup.namespace) == 1

    allowed = await call_tool(setup.server, bearer(SCALER_KEY, **kubeconfig), "kubectl", command)
    assert not allowed.isError, text_of(allowed)
    assert replicas(cluster, setup.namespace) == 3

    assert allowed.structuredContent is not None
    request_id = allowed.structuredContent["request_id"]
    mine = [
        r for r in audit_records(setup.server) if r["transport"] == "mcp" and "replicas=3" in r["command"]
    ]
    assert {(r["principal"], r["decision"], r["event"]) for r in mine} == {
        ("reader", "deny", "decision"),
        ("scaler", "allow", "decision"),
        ("scaler", "allow", "completion"),
    }
    assert any(r["request_id"] == request_id for r in mine)


def test_a_key_without_its_own_policy_is_evaluated_under_the_default_policy(
    setup: Setup, cluster: Cluster
) -> None:
    headers = bearer(LEAVER_KEY, **{"X-Kubeconfig": cluster.admin_b64()})
    res = post(setup.server, "kubectl", "get ns default -o name", headers)
    assert res.status_code == 200, res.text
    record = next(r for r in audit_records(setup.server) if r["request_id"] == res.json()["request_id"])
    assert record["principal"] == "leaver"
    default_revision = httpx.get(f"{setup.server.url}/health", timeout=10).json()["revision"]
    assert record["policy_revision"] == default_revision


def test_health_lists_every_loaded_policy_with_revision_and_last_error(setup: Setup) -> None:
    body = httpx.get(f"{setup.server.url}/health", timeout=10).json()
    by_path = {p["path"]: p for p in body["policies"]}
    assert {str(setup.reader_policy), str(setup.scaler_policy)} <= set(by_path)
    for entry in body["policies"]:
        assert entry["revision"].startswith("sha256:") and entry["last_error"] is None
    assert body["keys"]["principals"] == 3 and body["keys"]["last_error"] is None


def test_a_principals_policy_is_hot_reloaded_and_a_broken_file_keeps_the_last_good_one(
    setup: Setup, cluster: Cluster
) -> None:
    headers = bearer(SCALER_KEY, **{"X-Kubeconfig": cluster.admin_b64()})
    get_deploy = f"get deployment x -n {setup.namespace} -o name"
    assert post(setup.server, "kubectl", get_deploy, headers).status_code == 200
    try:
        setup.scaler_policy.write_text(SCALER_POLICY.replace("verbs: [scale, get]", "verbs: [scale]"))
        assert _eventually(lambda: post(setup.server, "kubectl", get_deploy, headers).status_code == 403)
        setup.scaler_policy.write_text("version: 1\nrulez: []\n")
        assert _eventually(lambda: _policy_error(setup) is not None)
        assert post(setup.server, "kubectl", get_deploy, headers).status_code == 403  # last good stays
    finally:
        setup.scaler_policy.write_text(SCALER_POLICY)
    assert _eventually(lambda: post(setup.server, "kubectl", get_deploy, headers).status_code == 200)


def _policy_error(setup: Setup) -> str | None:
    body = httpx.get(f"{setup.server.url}/health", timeout=10).json()
    error: str | None = next(p for p in body["policies"] if p["path"] == str(setup.scaler_policy))[
        "last_error"
    ]
    return error


def _eventually(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


# --- acceptance 2: no key, a wrong key, a key for a deleted principal -----------------------------


def _assert_one_unauthenticated_record(server: Server, before: int, secret: str | None) -> None:
    lines = audit_lines(server)
    new = lines[before:]
    assert len(new) == 1, new
    record = json.loads(new[0])
    assert (record["decision"], record["error_code"], record["principal"]) == (
        "rejected",
        "unauthenticated",
        "anonymous",
    )
    if secret:
        assert secret not in new[0]


@pytest.mark.parametrize("case", ["no key", "wrong key"])
def test_no_key_or_a_wrong_key_is_401_over_rest_nothing_runs_and_one_record_is_written(
    setup: Setup, cluster: Cluster, case: str
) -> None:
    cluster.kubectl_run("scale", "deployment", "x", "--replicas=1", "-n", setup.namespace)
    wrong = "kms_" + uuid.uuid4().hex
    headers = {"X-Kubeconfig": cluster.admin_b64(), **(bearer(wrong) if case == "wrong key" else {})}
    before = len(audit_lines(setup.server))
    res = post(setup.server, "kubectl", scale_to(setup.namespace, 4), headers)
    assert res.status_code == 401
    assert res.json()["detail"]["code"] == "unauthenticated"
    assert res.headers["www-authenticate"] == "Bearer"
    _assert_one_unauthenticated_record(setup.server, before, wrong)
    assert replicas(cluster, setup.namespace) == 1


@pytest.mark.parametrize("case", ["no key", "wrong key"])
async def test_no_key_or_a_wrong_key_is_401_over_mcp_nothing_runs_and_one_record_is_written(
    setup: Setup, cluster: Cluster, case: str
) -> None:
    cluster.kubectl_run("scale", "deployment", "x", "--replicas=1", "-n", setup.namespace)
    wrong = "kms_" + uuid.uuid4().hex
    headers = {"X-Kubeconfig": cluster.admin_b64(), **(bearer(wrong) if case == "wrong key" else {})}
    before = len(audit_lines(setup.server))
    with pytest.raises(BaseException) as info:  # the mcp client raises on the HTTP 401
        await call_tool(setup.server, headers, "kubectl", {"command": scale_to(setup.namespace, 4)})
    assert "401" in repr(info.value)
    _assert_one_unauthenticated_record(setup.server, before, wrong)
    assert json.loads(audit_lines(setup.server)[-1])["transport"] == "mcp"
    assert replicas(cluster, setup.namespace) == 1


async def test_a_key_removed_from_the_keys_file_stops_working_over_rest_and_mcp_without_a_restart(
    setup: Setup, cluster: Cluster
) -> None:
    kubeconfig = {"X-Kubeconfig": cluster.admin_b64()}
    cluster.kubectl_run("scale", "deployment", "x", "--replicas=1", "-n", setup.namespace)
    doomed = "kms_doomed-" + uuid.uuid4().hex
    entries = [("reader", READER_KEY, setup.reader_policy), ("scaler", SCALER_KEY, setup.scaler_policy)]
    write_keys(
        setup.keys_file, [*entries, ("leaver", LEAVER_KEY, None), ("doomed", doomed, setup.scaler_policy)]
    )
    try:
        assert _eventually(lambda: _principals(setup) == 4)
        ok = post(
            setup.server, "kubectl", f"get deployment x -n {setup.namespace}", bearer(doomed, **kubeconfig)
        )
        assert ok.status_code == 200, ok.text

        write_keys(setup.keys_file, [*entries, ("leaver", LEAVER_KEY, None)])
        assert _eventually(lambda: _principals(setup) == 3)

        before = len(audit_lines(setup.server))
        res = post(setup.server, "kubectl", scale_to(setup.namespace, 5), bearer(doomed, **kubeconfig))
        assert res.status_code == 401 and res.json()["detail"]["code"] == "unauthenticated"
        _assert_one_unauthenticated_record(setup.server, before, doomed)

        before = len(audit_lines(setup.server))
        with pytest.raises(BaseException) as info:
            await call_tool(
                setup.server,
                bearer(doomed, **kubeconfig),
                "kubectl",
                {"command": scale_to(setup.namespace, 5)},
            )
        assert "401" in repr(info.value)
        _assert_one_unauthenticated_record(setup.server, before, doomed)
        assert replicas(cluster, setup.namespace) == 1
    finally:
        write_keys(setup.keys_file, [*entries, ("leaver", LEAVER_KEY, None)])


def test_a_keys_file_that_turns_invalid_lets_nobody_in_until_it_is_fixed(
    setup: Setup, cluster: Cluster
) -> None:
    headers = bearer(READER_KEY, **{"X-Kubeconfig": cluster.admin_b64()})
    good = setup.keys_file.read_text()
    try:
        setup.keys_file.write_text("keys:\n  - principal: reader\n    sha256: not-hex\n")
        assert _eventually(lambda: _keys_error(setup) is not None)
        res = post(setup.server, "kubectl", "get ns default", headers)
        assert res.status_code == 401
        assert READER_KEY not in res.text
    finally:
        setup.keys_file.write_text(good)
    assert _eventually(lambda: post(setup.server, "kubectl", "get ns default", headers).status_code == 200)


def _principals(setup: Setup) -> int:
    count: int = httpx.get(f"{setup.server.url}/health", timeout=10).json()["keys"]["principals"]
    return count


def _keys_error(setup: Setup) -> str | None:
    error: str | None = httpx.get(f"{setup.server.url}/health", timeout=10).json()["keys"]["last_error"]
    return error


def test_metrics_need_a_key_when_keys_are_configured(setup: Setup) -> None:
    assert httpx.get(f"{setup.server.url}/metrics", timeout=10).status_code == 401
    res = httpx.get(f"{setup.server.url}/metrics", headers=bearer(READER_KEY), timeout=10)
    assert res.status_code == 200
    assert "k8s_mcp_requests_total" in res.text
