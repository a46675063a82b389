"""Enforcement against the real API server: default changes nothing, permissive reaches the cluster.

Each write, exec and credential-minting form is sent through a real server process. Under
policies/default.yaml every one is refused with 403 and a snapshot of the namespace (every object's
resourceVersion) is unchanged; under policies/permissive.yaml the writes really happen (checked with
the admin kubeconfig), exec and credential commands are still refused by its rule, and the cluster's
own RBAC still applies to an identity without rights. A last server, on a policy that allows
everything, shows that exec, port-forward and `create token` do reach the API server: only the
policy stood between them and the cluster.

The test cluster has no kubelet and no scheduler: pods stay Pending, so exec and port-forward can
only show that they reached the API server (its own error), not that a process ran.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

SETTLE_WAIT = 20.0  # controllers finish reacting to the set-up objects within a few seconds


@dataclass(frozen=True)
class Scene:
    ns: str
    cm: str
    dep: str
    pod: str
    release: str


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _chart(folder: Path) -> Path:
    chart = folder / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  a: b\n"
    )
    return chart


def _helm(cluster: Cluster, *args: str) -> str:
    done = subprocess.run(
        [str(cluster.helm), "--kubeconfig", str(cluster.admin), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def _snapshot(cluster: Cluster, ns: str) -> list[str]:
    kinds = "configmaps,deployments,replicasets,pods,services,serviceaccounts,secrets,roles,rolebindings"
    out = cluster.kubectl_run("get", kinds, "-n", ns, "-o", "json").stdout
    items = json.loads(out)["items"]
    namespace = cluster.kubectl_run("get", "ns", ns, "-o", "jsonpath={.metadata.resourceVersion}").stdout
    objects = sorted(f"{i['kind']}/{i['metadata']['name']}@{i['metadata']['resourceVersion']}" for i in items)
    return [*objects, f"Namespace/{ns}@{namespace}"]


def _settled(cluster: Cluster, ns: str) -> list[str]:
    deadline = time.monotonic() + SETTLE_WAIT
    previous = _snapshot(cluster, ns)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        current = _snapshot(cluster, ns)
        if current == previous and any(line.startswith("Pod/") for line in current):
            return current
        previous = current
    return previous


def _scene(cluster: Cluster, tmp: Path) -> Scene:
    scene = Scene(ns=_name("enf"), cm=_name("cm"), dep=_name("web"), pod="", release=_name("rel"))
    cluster.kubectl_run("create", "namespace", scene.ns)
    cluster.kubectl_run("create", "configmap", scene.cm, "-n", scene.ns, "--from-literal=a=original")
    cluster.kubectl_run("create", "deployment", scene.dep, "--image=nginx:1.25", "-n", scene.ns)
    _helm(cluster, "install", scene.release, str(_chart(tmp)), "-n", scene.ns)
    _settled(cluster, scene.ns)
    pod = cluster.kubectl_run(
        "get", "pods", "-n", scene.ns, "-o", "jsonpath={.items[0].metadata.name}"
    ).stdout
    return Scene(ns=scene.ns, cm=scene.cm, dep=scene.dep, pod=pod, release=scene.release)


@pytest.fixture(scope="module")
def scene(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    made = _scene(cluster, tmp_path_factory.mktemp("enforcement"))
    try:
        yield made
    finally:
        cluster.kubectl_run("delete", "namespace", made.ns, "--wait=false", check=False)


def _server(cluster: Cluster, standins: Path, tmp: Path, policy: Path, name: str) -> Iterator[Server]:
    srv = start_server(tmp, server_env(cluster, standins, policy), name=name)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def permissive(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("permissive")
    yield from _server(cluster, standin_dir, tmp, REPO / "policies" / "permissive.yaml", "permissive")


@pytest.fixture(scope="module")
def wide_open(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("wide-open")
    policy = tmp / "wide-open.yaml"
    policy.write_text("version: 1\ndefault: allow\nread_only: false\n")
    yield from _server(cluster, standin_dir, tmp, policy, "wide-open")


def _run(
    server: Server, cluster: Cluster, tool: str, command: str, *, kubeconfig: str | None = None
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/tools/{tool}",
        json={"command": command},
        headers={"X-Kubeconfig": kubeconfig or cluster.admin_b64()},
        timeout=90,
    )


# Every write, exec and credential-minting form: (tool, command template). {ns} {cm} {dep} {pod} {rel}.
WRITES = [
    ("kubectl", "create configmap made-{cm} --from-literal=a=b -n {ns}"),
    ("kubectl", "create secret generic made-{cm} --from-literal=k=v -n {ns}"),
    ("kubectl", "delete configmap {cm} -n {ns}"),
    ("kubectl", "-n {ns} delete ns {ns}"),
    ("kubectl", "delete configmap,namespace --all -n {ns}"),
    ("kubectl", "delete deploy/{dep} -n {ns} --grace-period=0"),
    ("kubectl", "label configmap {cm} team=x -n {ns}"),
    ("kubectl", "annotate configmap {cm} note=x -n {ns}"),
    ("kubectl", 'patch configmap {cm} -n {ns} -p \'{{"data":{{"a":"patched"}}}}\''),
    ("kubectl", "scale deploy/{dep} --replicas=3 -n {ns}"),
    ("kubectl", "scale --replicas=0 deployment {dep} --namespace={ns}"),
    ("kubectl", "rollout restart deploy/{dep} -n {ns}"),
    ("kubectl", "rollout pause deploy/{dep} -n {ns}"),
    ("kubectl", "set env deploy/{dep} A=B -n {ns}"),
    ("kubectl", "expose deploy {dep} --port=80 -n {ns}"),
    ("kubectl", "autoscale deploy {dep} --min=1 --max=2 -n {ns}"),
    ("kubectl", "'del''ete' configmap {cm} -n {ns}"),
    ("kubectl", "   -n {ns}   label   configmap {cm} evasion=leading-spaces"),
    ("helm", "uninstall {rel} -n {ns}"),
    ("helm", "un {rel} -n {ns}"),
    ("helm", "rollback {rel} 1 -n {ns}"),
    ("helm", "upgrade {rel} bitnami/nginx -n {ns}"),
    ("helm", "install made-{rel} bitnami/nginx -n {ns}"),
]
EXECS = [
    ("kubectl", "exec {pod} -n {ns} -- ls"),
    ("kubectl", "exec -n {ns} deploy/{dep} -- sh -c id"),
    ("kubectl", "port-forward -n {ns} pod/{pod} 18080:80"),
    ("kubectl", "attach {pod} -n {ns}"),
    ("kubectl", "run made-{cm} --image=busybox -n {ns}"),
    ("kubectl", "create token default -n {ns}"),
    # judged by capability: these choose the code a workload runs, or grant permissions
    ("kubectl", "create deployment made-{dep} --image=nginx -n {ns}"),
    ("kubectl", "create deployment made-{dep} --image=busybox -n {ns} -- sh -c id"),
    ("kubectl", "create job made-{cm} --image=busybox -n {ns} -- sh -c id"),
    ("kubectl", "set image deploy/{dep} nginx=nginx:1.27 -n {ns}"),
    (
        "kubectl",
        "patch deploy {dep} -n {ns} -p "
        '\'{{"spec":{{"template":{{"spec":{{"containers":[{{"name":"nginx","image":"busybox"}}]}}}}}}}}\'',
    ),
    ("kubectl", "create serviceaccount made-{cm} -n {ns}"),
    ("kubectl", "create rolebinding made-{cm} --clusterrole=admin --serviceaccount={ns}:default -n {ns}"),
    ("kubectl", "create role made-{cm} --verb=get --resource=secrets -n {ns}"),
    ("kubectl", "set serviceaccount deploy {dep} default -n {ns}"),
]
# Refused whatever the rules say: they bring their own files or credentials (builtin:guarded-flag).
GUARDED = [
    ("kubectl", "apply -f https://example.invalid/x.yaml -n {ns}"),
    ("kubectl", "create configmap made-{cm} --from-file=/etc/passwd -n {ns}"),
    ("kubectl", "delete configmap {cm} -n {ns} --kubeconfig=/etc/kubernetes/admin.conf"),
    ("kubectl", "--token=abc delete configmap {cm} -n {ns}"),
    ("kubectl", "delete configmap {cm} -n {ns} --as=system:admin"),
    ("kubectl", "delete configmap {cm} -n {ns} --server=https://127.0.0.1:1"),
    ("helm", "install made-{rel} ./chart -n {ns}"),
]


def _command(template: str, scene: Scene) -> str:
    return template.format(ns=scene.ns, cm=scene.cm, dep=scene.dep, pod=scene.pod, rel=scene.release)


@pytest.mark.parametrize(
    ("tool", "template"), WRITES + EXECS + GUARDED, ids=[t for _, t in WRITES + EXECS + GUARDED]
)
def test_the_default_policy_refuses_every_write_exec_and_credential_form_and_nothing_changes(
    server: Server, cluster: Cluster, scene: Scene, tool: str, template: str
) -> None:
    before = _snapshot(cluster, scene.ns)
    response = _run(server, cluster, tool, _command(template, scene))
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert detail["code"] == "policy_denied"
    assert detail["rule"] in ("builtin:read-only", "builtin:guarded-flag")
    assert _snapshot(cluster, scene.ns) == before


@pytest.mark.parametrize(("tool", "template"), EXECS + GUARDED, ids=[t for _, t in EXECS + GUARDED])
def test_the_permissive_policy_still_refuses_exec_credentials_and_guarded_flags(
    permissive: Server, cluster: Cluster, scene: Scene, tool: str, template: str
) -> None:
    before = _snapshot(cluster, scene.ns)
    response = _run(permissive, cluster, tool, _command(template, scene))
    assert response.status_code == 403, response.text
    assert response.json()["detail"]["rule"] in ("no-exec-or-credentials", "builtin:guarded-flag")
    assert _snapshot(cluster, scene.ns) == before


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["exit_code"] == 0, body
    return body


def _jsonpath(cluster: Cluster, scene: Scene, target: str, path: str) -> str:
    return cluster.kubectl_run("get", target, "-n", scene.ns, "-o", f"jsonpath={path}", check=False).stdout


def test_the_permissive_policy_lets_writes_reach_the_cluster(
    permissive: Server, cluster: Cluster, scene: Scene
) -> None:
    def run(tool: str, template: str) -> dict[str, Any]:
        return _ok(_run(permissive, cluster, tool, _command(template, scene)))

    cm, dep = f"configmap/{scene.cm}", f"deploy/{scene.dep}"
    run("kubectl", "create configmap made-{cm} --from-literal=a=b -n {ns}")
    assert _jsonpath(cluster, scene, f"configmap/made-{scene.cm}", "{.data.a}") == "b"
    run("kubectl", "   -n {ns}   label   configmap {cm} evasion=leading-spaces")
    assert _jsonpath(cluster, scene, cm, "{.metadata.labels.evasion}") == "leading-spaces"
    run("kubectl", "annotate configmap {cm} note=x -n {ns}")
    assert _jsonpath(cluster, scene, cm, "{.metadata.annotations.note}") == "x"
    run("kubectl", 'patch configmap {cm} -n {ns} -p \'{{"data":{{"a":"patched"}}}}\'')
    assert _jsonpath(cluster, scene, cm, "{.data.a}") == "patched"
    run("kubectl", "scale deploy/{dep} --replicas=3 -n {ns}")
    assert _jsonpath(cluster, scene, dep, "{.spec.replicas}") == "3"
    run("kubectl", "set env deploy/{dep} GREETING=hi -n {ns}")
    assert "GREETING" in _jsonpath(cluster, scene, dep, "{.spec.template.spec.containers[0].env}")
    run("kubectl", "rollout restart deploy/{dep} -n {ns}")
    assert _jsonpath(cluster, scene, dep, "{.spec.template.metadata.annotations}").count("restartedAt") == 1
    run("helm", "rollback {rel} 1 -n {ns}")
    assert '"revision":2' in _helm(cluster, "history", scene.release, "-n", scene.ns, "-o", "json").replace(
        " ", ""
    )
    run("helm", "un {rel} -n {ns}")
    assert _helm(cluster, "list", "-n", scene.ns, "-q").strip() == ""
    run("kubectl", "'del''ete' configmap made-{cm} -n {ns}")
    gone = cluster.kubectl_run("get", "configmap", f"made-{scene.cm}", "-n", scene.ns, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_under_the_permissive_policy_the_clusters_rbac_still_forbids_an_identity_without_rights(
    permissive: Server, cluster: Cluster, scene: Scene
) -> None:
    for template in (
        "create configmap nr-{cm} --from-literal=a=b -n {ns}",
        "delete configmap {cm} -n {ns}",
        "scale deploy/{dep} --replicas=5 -n {ns}",
    ):
        before = _snapshot(cluster, scene.ns)
        response = _run(
            permissive, cluster, "kubectl", _command(template, scene), kubeconfig=cluster.norights_b64()
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is False and body["exit_code"] != 0
        assert "forbidden" in (body["error"] or "").lower()
        assert _snapshot(cluster, scene.ns) == before


def test_with_a_policy_that_allows_everything_exec_port_forward_and_tokens_reach_the_api_server(
    wide_open: Server, cluster: Cluster, scene: Scene
) -> None:
    exec_response = _run(wide_open, cluster, "kubectl", _command("exec {pod} -n {ns} -- ls", scene)).json()
    assert "does not have a host assigned" in (exec_response["error"] or "")  # the API server's answer
    forward = _run(
        wide_open, cluster, "kubectl", _command("port-forward -n {ns} pod/{pod} 18080:80", scene)
    ).json()
    assert "pod is not running" in (forward["error"] or "")  # kubectl read the pod's status from the API
    token = _ok(_run(wide_open, cluster, "kubectl", _command("create token default -n {ns}", scene)))
    assert token["output"].strip()
