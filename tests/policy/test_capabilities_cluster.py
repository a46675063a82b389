"""Capabilities and namespaces against the real API server, through a real server process.

- `cluster-info dump` reads `kube-system` by default and whatever `--namespaces` names: a policy
  without kube-system refuses both, and allows a dump of an allowed namespace.
- `get -o yaml -- secrets NAME` reads a Secret (arguments after `--` are positionals): `secrets:
  deny` and a deny rule on `secrets` refuse it; `secrets: redact` runs it and redacts the value.
- Under permissive.yaml, nothing mints a credential, runs a chosen command or touches the server's
  files or network: each attempt is refused and afterwards nothing was created, read or contacted.
"""

from __future__ import annotations

import base64
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

SECRET_VALUE = "s3cr3t-" + uuid.uuid4().hex  # a fresh value: it cannot appear anywhere by chance


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def ns(cluster: Cluster) -> Iterator[str]:
    name = _name("cap")
    cluster.kubectl_run("create", "namespace", name)
    cluster.kubectl_run(
        "create", "secret", "generic", "db-creds", "-n", name, f"--from-literal=password={SECRET_VALUE}"
    )
    try:
        yield name
    finally:
        cluster.kubectl_run("delete", "namespace", name, "--wait=false", check=False)


def _policy_server(
    cluster: Cluster, standins: Path, tmp: pytest.TempPathFactory, name: str, text: str | None
) -> Iterator[Server]:
    folder = tmp.mktemp(name)
    if text is None:
        policy = REPO / "policies" / "permissive.yaml"
    else:
        policy = folder / f"{name}.yaml"
        policy.write_text(text)
    srv = start_server(folder, server_env(cluster, standins, policy), name=name)
    try:
        yield srv
    finally:
        srv.stop()


READS = "rules:\n  - id: reads\n    effect: allow\n    verbs: ['*']\n"


@pytest.fixture(scope="module")
def no_kube_system(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    text = "version: 1\ndefault: deny\nread_only: true\nnamespaces:\n  deny: [kube-system]\n" + READS
    yield from _policy_server(cluster, standin_dir, tmp_path_factory, "no-kube-system", text)


@pytest.fixture(scope="module")
def secrets_deny(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    text = "version: 1\ndefault: deny\nread_only: true\nsecrets: deny\n" + READS
    yield from _policy_server(cluster, standin_dir, tmp_path_factory, "secrets-deny", text)


@pytest.fixture(scope="module")
def secrets_rule(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    text = (
        "version: 1\ndefault: deny\nread_only: true\n"
        + READS
        + "  - id: no-secrets\n    effect: deny\n    resources: [secrets]\n    reason: no secrets here\n"
    )
    yield from _policy_server(cluster, standin_dir, tmp_path_factory, "secrets-rule", text)


@pytest.fixture(scope="module")
def permissive(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from _policy_server(cluster, standin_dir, tmp_path_factory, "permissive-cap", None)


def _run(server: Server, cluster: Cluster, tool: str, command: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/tools/{tool}",
        json={"command": command},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=120,
    )


def _denied(response: httpx.Response, rule: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["detail"]["rule"] == rule, response.text


@pytest.mark.parametrize(
    "command", ["cluster-info dump", "cluster-info dump --namespaces default,kube-system"]
)
def test_cluster_info_dump_reaching_kube_system_is_denied_by_the_namespaces_rule(
    no_kube_system: Server, cluster: Cluster, command: str
) -> None:
    _denied(_run(no_kube_system, cluster, "kubectl", command), "builtin:namespaces")


def test_cluster_info_dump_of_an_allowed_namespace_runs(
    no_kube_system: Server, cluster: Cluster, ns: str
) -> None:
    response = _run(no_kube_system, cluster, "kubectl", f"cluster-info dump --namespaces {ns} -n {ns}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["exit_code"] == 0, body
    assert SECRET_VALUE not in body["output"]


def test_a_secret_named_after_dashes_is_a_secret_read_for_every_rule_about_secrets(
    secrets_deny: Server, secrets_rule: Server, server: Server, cluster: Cluster, ns: str
) -> None:
    text = f"get -o yaml -n {ns} -- secrets db-creds"
    _denied(_run(secrets_deny, cluster, "kubectl", text), "builtin:secrets")
    _denied(_run(secrets_rule, cluster, "kubectl", text), "no-secrets")
    redacted = _run(server, cluster, "kubectl", text)  # the shipped default: secrets: redact
    assert redacted.status_code == 200, redacted.text
    body = redacted.json()
    assert body["exit_code"] == 0, body
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    assert SECRET_VALUE not in body["output"] and encoded not in body["output"]


@pytest.mark.parametrize(
    "command",
    [
        "get -n {ns} -o go-template='{{{{.data.password}}}}' -- secrets db-creds",
        "get -n {ns} --template='{{{{.data.password}}}}' secret db-creds",
    ],
)
def test_a_template_over_a_secret_named_after_dashes_is_refused_whatever_the_policy(
    secrets_deny: Server, secrets_rule: Server, server: Server, cluster: Cluster, ns: str, command: str
) -> None:
    text = command.format(ns=ns)
    for srv in (secrets_deny, secrets_rule, server):
        _denied(_run(srv, cluster, "kubectl", text), "builtin:templates")


def test_permissive_refuses_binding_cluster_admin_and_nothing_is_created(
    permissive: Server, cluster: Cluster, ns: str
) -> None:
    name = _name("escalate")
    for command in (
        f"create clusterrolebinding {name} --clusterrole=cluster-admin --serviceaccount={ns}:default",
        f"create rolebinding {name} --clusterrole=cluster-admin --serviceaccount={ns}:default -n {ns}",
        f"create serviceaccount {name} -n {ns}",
        f"create token default -n {ns}",
    ):
        _denied(_run(permissive, cluster, "kubectl", command), "no-exec-or-credentials")
    for kind, where in (
        ("clusterrolebinding", ()),
        ("rolebinding", ("-n", ns)),
        ("serviceaccount", ("-n", ns)),
    ):
        found = cluster.kubectl_run("get", kind, name, *where, check=False)
        assert found.returncode != 0 and "NotFound" in found.stderr


def test_permissive_refuses_a_workload_with_a_chosen_command_and_nothing_is_created(
    permissive: Server, cluster: Cluster, ns: str
) -> None:
    name = _name("x")
    _denied(
        _run(permissive, cluster, "kubectl", f"create deployment {name} --image=busybox -n {ns} -- sh -c id"),
        "no-exec-or-credentials",
    )
    found = cluster.kubectl_run("get", "deployment", name, "-n", ns, check=False)
    assert found.returncode != 0 and "NotFound" in found.stderr


def test_permissive_refuses_helm_create_and_chart_paths_on_the_server(
    permissive: Server, cluster: Cluster, tmp_path: Path
) -> None:
    target = tmp_path / "made-by-helm"
    _denied(_run(permissive, cluster, "helm", f"helm create {target}"), "builtin:guarded-flag")
    assert not target.exists()
    for command in ("show chart home/../../etc", "show chart -- home/../../etc", "show chart /etc"):
        _denied(_run(permissive, cluster, "helm", command), "builtin:guarded-flag")


class _Listener:
    """A loopback TCP listener that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def test_the_listener_of_this_test_records_a_connection() -> None:
    listener = _Listener()
    try:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5):
            pass
        for _ in range(50):
            if listener.connections:
                break
            threading.Event().wait(0.05)
        assert listener.connections == 1
    finally:
        listener.close()


def test_permissive_refuses_chart_urls_and_endpoints_and_nothing_is_contacted(
    permissive: Server, cluster: Cluster
) -> None:
    listener = _Listener()
    try:
        port = listener.port
        for command in (
            f"show chart http://127.0.0.1:{port}/x.tgz",
            f"show chart oci://127.0.0.1:{port}/charts/x",
            f"pull http://127.0.0.1:{port}/x.tgz",
            f"search hub nginx --endpoint http://127.0.0.1:{port}",
            f"repo add evil http://127.0.0.1:{port}",
            f"install web http://127.0.0.1:{port}/x.tgz --dry-run",
        ):
            _denied(_run(permissive, cluster, "helm", command), "builtin:guarded-flag")
        threading.Event().wait(0.5)  # any connection the refused commands had made would be in by now
        assert listener.connections == 0
    finally:
        listener.close()
