"""The server's own credential (in a pod: its ServiceAccount token) never reaches a caller, in any form
of `config view`, through filters, even under a policy that allows `--raw` and `--flatten`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tests.conftest import server_env
from tests.redact.test_redaction_cluster import Canaries, transform_leaks
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

EVERYTHING = """\
version: 1
default: allow
read_only: false
secrets: redact
pipes: [jq, grep, head]
flags:
  allow: [raw]
rules: []
"""


def _service_account_token(cluster: Cluster) -> str:
    name = "k8s-mcp-in-cluster-test"
    cluster.kubectl_run("create", "serviceaccount", name, "-n", "default", check=False)
    token = cluster.kubectl_run("create", "token", name, "-n", "default", check=False).stdout.strip()
    if token:
        return token
    secret = cluster.kubectl_run(
        "get", "sa", name, "-n", "default", "-o", "jsonpath={.secrets[0].name}"
    ).stdout.strip()
    data = cluster.kubectl_run(
        "get", "secret", secret, "-n", "default", "-o", "jsonpath={.data.token}"
    ).stdout
    return base64.b64decode(data).decode()


@pytest.fixture(scope="module")
def in_cluster(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """A server that believes it runs in a pod: its ServiceAccount folder and KUBERNETES_SERVICE_*."""
    tmp = tmp_path_factory.mktemp("in-cluster")
    token = _service_account_token(cluster)
    admin = yaml.safe_load(cluster.admin.read_text())
    entry = admin["clusters"][0]["cluster"]
    sa = tmp / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(token)
    (sa / "ca.crt").write_bytes(base64.b64decode(entry["certificate-authority-data"]))
    (sa / "namespace").write_text("default")
    where = urlsplit(entry["server"])
    policy = tmp / "everything.yaml"
    policy.write_text(EVERYTHING)
    env = {
        **server_env(cluster, standin_dir, policy),
        "K8S_MCP_IN_CLUSTER": "true",
        "K8S_MCP_SERVICE_ACCOUNT_DIR": str(sa),
        "KUBERNETES_SERVICE_HOST": where.hostname or "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(where.port or 443),
    }
    srv = start_server(tmp, env, name="in-cluster")
    try:
        yield srv, token
    finally:
        srv.stop()


FORMS = [
    "config view",
    "config view --raw",
    "config view --flatten",
    "config view --raw --minify -o json",
    "config view --raw -o json | jq -r '.users[].user.token'",
    "config view --flatten -o json | jq -r '.users[0].user.token|@base64'",
    "config view --raw -o json | jq -r '.users[].user.token|explode|map(tostring)|join(\",\")'",
    "config view --minify --raw -o yaml | grep token",
    "config view --raw | head -n 40",
]


def test_the_servers_own_token_never_reaches_a_caller_in_any_form_of_config_view(
    in_cluster: tuple[Server, str],
) -> None:
    srv, token = in_cluster
    canaries = Canaries({"service-account-token": token})
    ran = 0
    for command in FORMS:
        res = httpx.post(f"{srv.url}/tools/kubectl", json={"command": command}, timeout=60)
        assert transform_leaks(res.text, canaries) == [], command
        if res.status_code == 200:
            ran += 1
            assert res.json()["exit_code"] == 0, (command, res.text[:300])
    assert ran == len(FORMS)  # the policy allowed every form: redaction, not refusal, kept the token


def test_a_template_over_the_kubeconfig_is_refused(in_cluster: tuple[Server, str]) -> None:
    srv, _token = in_cluster
    res = httpx.post(
        f"{srv.url}/tools/kubectl",
        json={"command": "config view --raw -o jsonpath='{.users[*].user.token}'"},
        timeout=60,
    )
    assert res.status_code == 403 and res.json()["detail"]["rule"] == "builtin:templates"


def test_the_in_cluster_credential_still_works_for_the_caller(in_cluster: tuple[Server, str]) -> None:
    srv, _token = in_cluster
    res = httpx.post(f"{srv.url}/tools/kubectl", json={"command": "auth whoami -o json"}, timeout=60)
    body = res.json()
    # the ServiceAccount authenticates (whoami may be unknown to a 1.20 server: then any answer but 401)
    assert res.status_code == 200 and "Unauthorized" not in json.dumps(body)
