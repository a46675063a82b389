"""The server's environment never reaches a caller: planted canaries, every tool and filter, two policies.

The server runs with canary values in its own environment (a made-up setting and a cloud credential).
Every command a caller could use to print an environment (kubectl templates, `config view`, `jq env`,
`helm env`, the istioctl/argocd stand-ins that record the variable names they were given) is sent
under the default policy and under the permissive one: each is refused, or runs and shows no canary.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.childenv import SERVER_CHILD_ENV
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server
from tests.support.standins import recorded_calls, write_standins

pytestmark = pytest.mark.cluster

CANARY_NAMES = ("K8S_MCP_TEST_CANARY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN")
ALLOWED_NAMES = SERVER_CHILD_ENV

COMMANDS: list[tuple[str, str]] = [
    ("kubectl", "get ns default -o go-template='{{env \"K8S_MCP_TEST_CANARY\"}}'"),
    ("kubectl", "get ns default -o go-template='{{ .Env.AWS_SECRET_ACCESS_KEY }}'"),
    ("kubectl", "get ns default -o 'go-template={{range $k, $v := .}}{{$k}}={{$v}} {{end}}'"),
    ("kubectl", "get ns default -o jsonpath='{$.env}'"),
    ("kubectl", "get ns default -o json | jq -n env"),
    ("kubectl", "get ns default -o json | jq -n '$ENV'"),
    ("kubectl", "get ns default -o json | jq '$ENV.AWS_SECRET_ACCESS_KEY'"),
    ("kubectl", "get ns default -o json | jq '.[\"env\"]'"),
    ("kubectl", "get ns default -o json | jq -r '\"\\(env)\"'"),
    ("kubectl", "get ns default -o json | jq 'getpath([\"ENV\"])'"),
    ("kubectl", "get ns default -o json | jq -n input_filename"),
    ("kubectl", "config view"),
    ("kubectl", "config view --raw"),
    ("kubectl", "config view -o json | jq -n env"),
    ("kubectl", "version"),
    ("kubectl", "version --client -o json"),
    ("kubectl", "plugin list"),
    ("kubectl", "get ns -o name | grep -r CANARY"),
    ("helm", "env"),
    ("helm", "env AWS_SECRET_ACCESS_KEY"),
    ("helm", "version"),
    ("helm", "list -n default -o json | jq -n env"),
    ("istioctl", "version"),
    ("istioctl", "proxy-status"),
    ("argocd", "version --client"),
    ("argocd", "app list --core"),
]


@dataclass
class Planted:
    server: Server
    canaries: dict[str, str]
    standin_log: Path


def _planted(cluster: Cluster, tmp: Path, policy: str) -> Iterator[Planted]:
    standins = tmp / "standins"
    log = write_standins(standins)
    canaries = {name: f"canary-{uuid.uuid4().hex}" for name in CANARY_NAMES}
    env = {**server_env(cluster, standins, REPO / "policies" / policy), **canaries}
    srv = start_server(tmp, env, name=policy.removesuffix(".yaml"))
    try:
        yield Planted(server=srv, canaries=canaries, standin_log=log)
    finally:
        srv.stop()


@pytest.fixture(scope="module", params=["default.yaml", "permissive.yaml"])
def planted(
    request: pytest.FixtureRequest, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Planted]:
    yield from _planted(cluster, tmp_path_factory.mktemp("env-canary"), request.param)


def test_the_canaries_are_really_in_the_server_process_environment(planted: Planted) -> None:
    """The control: the values are there to be stolen, so the tests below can fail."""
    environ = Path(f"/proc/{planted.server.process.pid}/environ").read_bytes()
    for name, value in planted.canaries.items():
        assert f"{name}={value}".encode() in environ.split(b"\0")


@pytest.mark.parametrize(("tool", "command"), COMMANDS)
def test_no_command_or_filter_shows_the_servers_environment(
    planted: Planted, cluster: Cluster, tool: str, command: str
) -> None:
    res = httpx.post(
        f"{planted.server.url}/tools/{tool}",
        json={"command": command},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )
    assert res.status_code in (200, 400, 403), res.text
    for name, value in planted.canaries.items():
        assert value not in res.text, f"{name} leaked through {tool} {command!r}"


def test_jq_env_is_refused_before_anything_runs(planted: Planted, cluster: Cluster) -> None:
    res = httpx.post(
        f"{planted.server.url}/tools/kubectl",
        json={"command": "get ns default -o json | jq -n env"},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )
    assert res.status_code == 400
    assert res.json()["detail"]["code"] == "invalid_command"


def test_a_go_template_that_runs_prints_only_the_object(planted: Planted, cluster: Cluster) -> None:
    """A template that does run sees the object kubectl fetched, not the process environment."""
    res = httpx.post(
        f"{planted.server.url}/tools/kubectl",
        json={"command": "get ns default -o 'go-template={{.metadata.name}}'"},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )
    assert res.status_code == 200, res.text
    assert res.json()["output"] == "default"


def test_the_standins_are_given_only_the_allow_listed_variables(planted: Planted, cluster: Cluster) -> None:
    for tool, command in [("istioctl", "proxy-status"), ("argocd", "app list --core")]:
        res = httpx.post(
            f"{planted.server.url}/tools/{tool}",
            json={"command": command},
            headers={"X-Kubeconfig": cluster.admin_b64()},
            timeout=60,
        )
        assert res.status_code == 200, res.text
    calls = recorded_calls(planted.standin_log)
    assert {call["tool"] for call in calls} == {"istioctl", "argocd"}
    for call in calls:
        names = set(call["env"])  # type: ignore[call-overload]
        assert names <= ALLOWED_NAMES
        assert not names & set(CANARY_NAMES)
        assert not any(name.startswith("K8S_MCP_") for name in names)


def _helm_dirs(planted: Planted, cluster: Cluster) -> dict[str, str]:
    res = httpx.post(
        f"{planted.server.url}/tools/helm",
        json={"command": "env"},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )
    assert res.status_code == 200, res.text
    pairs = (line.split("=", 1) for line in res.json()["output"].splitlines() if "=" in line)
    values = {key: value.strip('"') for key, value in pairs}
    return {key: values[key] for key in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME")}


def test_helm_runs_with_its_directories_in_a_private_workspace_per_request(
    planted: Planted, cluster: Cluster
) -> None:
    first, second = _helm_dirs(planted, cluster), _helm_dirs(planted, cluster)
    for dirs in (first, second):
        # one workspace (a `k8s-mcp-*` directory in the work dir) holds all three
        roots = {
            next(p for p in Path(path).parents if p.name.startswith("k8s-mcp-")) for path in dirs.values()
        }
        assert len(roots) == 1
        assert not any(Path(path).exists() for path in dirs.values())  # removed after the run
    assert set(first.values()).isdisjoint(second.values())
    assert not any(str(Path.home()) in path for path in first.values())
