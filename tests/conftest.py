"""Session fixtures: the real cluster, the CLI stand-ins, and a real server process."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.cluster import REPO, Cluster, start_cluster, stop_cluster
from tests.support.postgres_fixtures import pg_url, postgres  # noqa: F401 - fixtures: the real PostgreSQL
from tests.support.server import Server, start_server
from tests.support.standins import write_standins

# CI replays the same examples every run (a landing must not depend on luck); runs on developer
# machines keep exploring new examples, and the failures they find are pinned with @example.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield started
    finally:
        stop_cluster(started)


@pytest.fixture(scope="session")
def standin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("standins")
    write_standins(folder)
    return folder


def server_env(cluster: Cluster, standins: Path, policy: Path) -> dict[str, str]:
    return {
        "K8S_MCP_POLICY": str(policy),
        "K8S_MCP_KUBECTL": str(cluster.kubectl),
        "K8S_MCP_HELM": str(cluster.helm),
        "K8S_MCP_ISTIOCTL": str(standins / "istioctl"),
        "K8S_MCP_ARGOCD": str(standins / "argocd"),
        "K8S_MCP_COMMAND_TIMEOUT": "30",
    }


@pytest.fixture(scope="session")
def server(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server on the shipped default policy, as the README starts it."""
    tmp = tmp_path_factory.mktemp("server")
    srv = start_server(tmp, server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def admin_headers(cluster: Cluster) -> dict[str, str]:
    return {"X-Kubeconfig": cluster.admin_b64()}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
