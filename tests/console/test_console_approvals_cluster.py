"""The console's approvals page in a real browser: an approver sees a pending `scale` with its preview,
approves it, the agent continues and the replicas change, and the request's timeline shows it all; an
auditor cannot approve."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.conftest import server_env
from tests.console.test_console_browser_cluster import _shot, _sign_in, browser  # noqa: F401 - fixture
from tests.redact.test_redaction_cluster import _kubectl_apply
from tests.support.cluster import Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

POLICY = """\
version: 1
default: deny
read_only: false
rules:
  - id: reads
    effect: allow
    classes: [read]
  - id: scale-needs-approval
    effect: approve
    tools: [kubectl]
    verbs: [scale]
    resources: [deployments]
    ttl: 10m
    reason: scaling is reviewed
"""


@pytest.fixture(scope="module")
def setup(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("console-approvals")
    ns = f"cappr-{uuid.uuid4().hex[:8]}"
    cluster.kubectl_run("create", "namespace", ns)
    _kubectl_apply(
        cluster,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": ns},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "x:1"}]},
                },
            },
        },
    )
    keys = {name: f"kms_{secrets.token_urlsafe(24)}" for name in ("agent", "approver", "auditor")}
    roles = {"agent": "", "approver": "    roles: [approver, auditor]\n", "auditor": "    roles: [auditor]\n"}
    (tmp / "keys.yaml").write_text(
        "keys:\n"
        + "".join(
            f"  - principal: {name}\n    sha256: {hashlib.sha256(key.encode()).hexdigest()}\n{roles[name]}"
            for name, key in keys.items()
        )
    )
    (tmp / "policy.yaml").write_text(POLICY)
    env = {
        **server_env(cluster, standin_dir, tmp / "policy.yaml"),
        "K8S_MCP_API_KEYS_FILE": str(tmp / "keys.yaml"),
    }
    srv = start_server(tmp, env, name="console-approvals")
    try:
        yield {"server": srv, "keys": keys, "ns": ns, "cluster": cluster}
    finally:
        srv.stop()
        cluster.kubectl_run("delete", "namespace", ns, "--wait=false", check=False)


def _agent(setup: dict[str, object], command: str, **fields: object) -> httpx.Response:
    srv, keys, cluster = setup["server"], setup["keys"], setup["cluster"]
    assert isinstance(srv, Server) and isinstance(keys, dict) and isinstance(cluster, Cluster)
    headers = {"Authorization": f"Bearer {keys['agent']}", "X-Kubeconfig": cluster.admin_b64()}
    return httpx.post(
        f"{srv.url}/tools/kubectl", json={"command": command, **fields}, headers=headers, timeout=90
    )


def test_an_approver_approves_a_pending_scale_in_the_browser_and_the_timeline_shows_it(
    setup: dict[str, object],
    browser: webdriver.Chrome,  # noqa: F811 - the fixture
) -> None:
    srv, keys, ns, cluster = setup["server"], setup["keys"], setup["ns"], setup["cluster"]
    assert isinstance(srv, Server) and isinstance(keys, dict) and isinstance(cluster, Cluster)
    command = f"scale deploy/api --replicas=3 -n {ns}"
    pending = _agent(setup, command)
    assert pending.status_code == 202, pending.text[:400]
    approval_id = pending.json()["approval"]["id"]
    replicas = cluster.kubectl_run(
        "get", "deploy", "api", "-n", str(ns), "-o", "jsonpath={.spec.replicas}"
    ).stdout
    assert replicas == "1"  # nothing ran

    _sign_in(browser, srv, keys["auditor"])  # an auditor sees no approvals page and cannot post to it
    browser.get(f"{srv.url}/console/approvals")
    assert "needs the approver role" in browser.find_element(By.ID, "refused").text

    _sign_in(browser, srv, keys["approver"])
    browser.get(f"{srv.url}/console/approvals")
    card = browser.find_element(By.ID, f"approval-{approval_id}")
    assert "scale deploy/api --replicas=3" in card.text and "agent" in card.text
    assert "replicas" in card.find_element(By.CSS_SELECTOR, "pre.diff").text  # the preview shows the change
    _shot(browser, "approvals-pending")
    card.find_element(By.NAME, "reason").send_keys("looks fine")
    card.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    assert "approved" in browser.find_element(By.ID, "history").text
    _shot(browser, "approvals-history")

    done = _agent(setup, command, approval_id=approval_id)
    assert done.status_code == 200 and done.json()["exit_code"] == 0, done.text[:400]
    replicas = cluster.kubectl_run(
        "get", "deploy", "api", "-n", str(ns), "-o", "jsonpath={.spec.replicas}"
    ).stdout
    assert replicas == "3"

    browser.get(f"{srv.url}/console/audit/{pending.json()['request_id']}")
    timeline = browser.find_element(By.ID, "timeline").text
    for event in ("approval_requested", "approved", "consumed", "completion"):
        assert event in timeline, (event, timeline)
    assert "exit code 0" in timeline and "approver" in timeline
    _shot(browser, "approval-timeline")


def test_an_auditor_session_gets_403_on_approve(setup: dict[str, object]) -> None:
    srv, keys, ns = setup["server"], setup["keys"], setup["ns"]
    assert isinstance(srv, Server) and isinstance(keys, dict)
    pending = _agent(setup, f"scale deploy/api --replicas=5 -n {ns}")
    approval_id = pending.json()["approval"]["id"]
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        form = client.get("/console/login")
        token = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/console/login", data={"key": keys["auditor"], "csrf": token})
        audit = client.get("/console/audit")
        csrf = audit.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        res = client.post(f"/console/approvals/{approval_id}", data={"action": "approve", "csrf": csrf})
        assert res.status_code == 403 and "approver role" in res.text
    view = httpx.get(
        f"{srv.url}/approvals/{approval_id}",
        headers={"Authorization": f"Bearer {keys['approver']}"},
        timeout=30,
    )
    assert json.loads(view.text)["approval"]["status"] == "pending"  # the auditor did not approve it
