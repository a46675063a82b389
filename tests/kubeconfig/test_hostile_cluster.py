"""Hostile kubeconfigs against a real server and the real API server: refused, audited, nothing runs.

Each case sends a kubeconfig built from the cluster's real admin kubeconfig with one hostile change,
with a command that would otherwise run (`get pods -n default`). The server must answer 400 with the
right code, write exactly one `decision` record (`rejected`, with that code) and no `completion`
record, never run the plugin (its marker file never appears) and never echo a server file's content.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

COMMAND = "get pods -n default"


@dataclass(frozen=True)
class Files:
    """Server-side files a hostile kubeconfig points at."""

    marker: Path  # the exec plugin would create it
    canary: Path  # a "service-account token" on the server
    canary_text: str


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("hostile")
    canary_text = f"canary-token-{uuid.uuid4().hex}"
    canary = folder / "token"
    canary.write_text(canary_text)
    return Files(marker=folder / f"marker-{uuid.uuid4().hex}", canary=canary, canary_text=canary_text)


@pytest.fixture(scope="module")
def hostile_server(
    cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Our own server, so its audit file holds only this module's requests."""
    tmp = tmp_path_factory.mktemp("hostile-server")
    srv = start_server(tmp, server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"))
    try:
        yield srv
    finally:
        srv.stop()


def admin_doc(cluster: Cluster) -> dict[str, Any]:
    doc = yaml.safe_load(cluster.admin.read_text())
    assert isinstance(doc, dict)
    return doc


def encode(doc: dict[str, Any] | str | bytes) -> str:
    if isinstance(doc, dict):
        doc = yaml.safe_dump(doc)
    if isinstance(doc, str):
        doc = doc.encode()
    return base64.b64encode(doc).decode()


def with_user(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        change(doc["users"][0]["user"])

    return apply


def with_cluster(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        change(doc["clusters"][0]["cluster"])

    return apply


def _exec_plugin(files: Files) -> Callable[[dict[str, Any]], None]:
    def change(user: dict[str, Any]) -> None:
        user.clear()
        user["exec"] = {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "/usr/bin/touch",
            "args": [str(files.marker)],
            "interactiveMode": "Never",
        }

    return change


def _replace(key: str, value: object, *drop: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        for name in drop:
            body.pop(name, None)
        body[key] = value

    return change


ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "apiVersion: v1\nkind: Config\nclusters: *h\n"
)


def cases(cluster: Cluster, files: Files) -> dict[str, tuple[str, str]]:
    """name -> (base64 kubeconfig, expected code)."""
    canary = str(files.canary)
    changes: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
        "exec plugin": (with_user(_exec_plugin(files)), "unsafe_kubeconfig"),
        "auth-provider": (
            with_user(_replace("auth-provider", {"name": "oidc"}, "client-key-data")),
            "unsafe_kubeconfig",
        ),
        "tokenFile": (
            with_user(_replace("tokenFile", canary, "client-certificate-data", "client-key-data")),
            "unsafe_kubeconfig",
        ),
        "client-certificate path": (
            with_user(_replace("client-certificate", canary, "client-certificate-data")),
            "unsafe_kubeconfig",
        ),
        "client-key path": (
            with_user(_replace("client-key", canary, "client-key-data")),
            "unsafe_kubeconfig",
        ),
        "certificate-authority path": (
            with_cluster(_replace("certificate-authority", canary, "certificate-authority-data")),
            "unsafe_kubeconfig",
        ),
        "metadata server over http": (
            with_cluster(_replace("server", "http://169.254.169.254")),
            "unsafe_kubeconfig",
        ),
        "metadata server over https": (
            with_cluster(_replace("server", "https://169.254.169.254")),
            "unsafe_kubeconfig",
        ),
        "metadata hostname": (
            with_cluster(_replace("server", "https://metadata.google.internal")),
            "unsafe_kubeconfig",
        ),
        "metadata as a decimal integer": (
            with_cluster(_replace("server", "https://2852039166")),
            "unsafe_kubeconfig",
        ),
        "AWS IMDS over IPv6": (
            with_cluster(_replace("server", "https://[fd00:ec2::254]")),
            "unsafe_kubeconfig",
        ),
        "file scheme": (with_cluster(_replace("server", f"file://{canary}")), "unsafe_kubeconfig"),
        "proxy-url": (with_cluster(_replace("proxy-url", "http://169.254.169.254")), "unsafe_kubeconfig"),
        "insecure TLS": (
            with_cluster(_replace("insecure-skip-tls-verify", True, "certificate-authority-data")),
            "unsafe_kubeconfig",
        ),
        "impersonation": (with_user(_replace("as", "system:admin")), "unsafe_kubeconfig"),
    }
    out: dict[str, tuple[str, str]] = {}
    for name, (change, code) in changes.items():
        doc = copy.deepcopy(admin_doc(cluster))
        change(doc)
        out[name] = (encode(doc), code)
    out["YAML alias bomb"] = (encode(ALIAS_BOMB), "invalid_kubeconfig")
    out["invalid base64"] = ("not*base64!!", "invalid_kubeconfig")
    out["base64 of binary junk"] = (base64.b64encode(bytes(range(256))).decode(), "invalid_kubeconfig")
    out["not a kubeconfig"] = (encode("- just\n- a list\n"), "invalid_kubeconfig")
    return out


CASE_NAMES = [
    "exec plugin",
    "auth-provider",
    "tokenFile",
    "client-certificate path",
    "client-key path",
    "certificate-authority path",
    "metadata server over http",
    "metadata server over https",
    "metadata hostname",
    "metadata as a decimal integer",
    "AWS IMDS over IPv6",
    "file scheme",
    "proxy-url",
    "insecure TLS",
    "impersonation",
    "YAML alias bomb",
    "invalid base64",
    "base64 of binary junk",
    "not a kubeconfig",
]


def audit_records(server: Server, request_id: str) -> list[dict[str, Any]]:
    lines = server.audit_log.read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("request_id") == request_id]


def assert_refused_audited_and_nothing_ran(
    server: Server, res: httpx.Response, code: str, files: Files
) -> None:
    assert res.status_code == 400, res.text
    detail = res.json()["detail"]
    assert detail["code"] == code
    assert detail["message"]
    records = audit_records(server, detail["request_id"])
    assert [(r["event"], r["decision"]) for r in records] == [("decision", "rejected")]
    assert records[0]["error_code"] == code
    assert not files.marker.exists()
    assert files.canary_text not in res.text
    assert files.canary_text not in server.audit_log.read_text()
    assert files.canary_text not in server.log_path.read_text()


@pytest.mark.parametrize("name", CASE_NAMES)
def test_a_hostile_kubeconfig_in_the_header_is_refused_audited_and_runs_nothing(
    hostile_server: Server, cluster: Cluster, files: Files, name: str
) -> None:
    encoded, code = cases(cluster, files)[name]
    res = httpx.post(
        f"{hostile_server.url}/tools/kubectl",
        json={"command": COMMAND},
        headers={"X-Kubeconfig": encoded},
        timeout=60,
    )
    assert_refused_audited_and_nothing_ran(hostile_server, res, code, files)


def test_a_hostile_kubeconfig_in_the_body_is_refused_the_same_way(
    hostile_server: Server, cluster: Cluster, files: Files
) -> None:
    encoded, code = cases(cluster, files)["exec plugin"]
    res = httpx.post(
        f"{hostile_server.url}/tools/kubectl", json={"command": COMMAND, "kubeconfig": encoded}, timeout=60
    )
    assert_refused_audited_and_nothing_ran(hostile_server, res, code, files)


def test_a_kubeconfig_over_its_size_limit_is_refused_before_it_is_decoded(
    hostile_server: Server, cluster: Cluster, files: Files
) -> None:
    # 600 KB: past the 256 KiB kubeconfig limit, within the 1 MiB body limit (past that: 413 body_too_large)
    doc = admin_doc(cluster)
    doc["preferences"] = {"padding": "x" * (600 * 1024)}
    res = httpx.post(
        f"{hostile_server.url}/tools/kubectl",
        json={"command": COMMAND, "kubeconfig": encode(doc)},
        timeout=60,
    )
    assert_refused_audited_and_nothing_ran(hostile_server, res, "invalid_kubeconfig", files)
    assert "larger than" in res.json()["detail"]["message"]


def test_the_exec_plugin_would_have_run_under_kubectl_itself(
    cluster: Cluster, files: Files, tmp_path: Path
) -> None:
    """The control: the same kubeconfig given to kubectl directly does create the marker."""
    marker = tmp_path / "control-marker"
    doc = admin_doc(cluster)
    _exec_plugin(Files(marker=marker, canary=files.canary, canary_text=""))(doc["users"][0]["user"])
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    subprocess.run(
        [
            str(cluster.kubectl),
            "--kubeconfig",
            str(path),
            "get",
            "pods",
            "-n",
            "default",
            "--request-timeout=5s",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert marker.exists()


def test_the_real_admin_kubeconfig_still_works_on_the_same_server(
    hostile_server: Server, cluster: Cluster
) -> None:
    res = httpx.post(
        f"{hostile_server.url}/tools/kubectl",
        json={"command": "get ns default -o name"},
        headers={"X-Kubeconfig": cluster.admin_b64()},
        timeout=60,
    )
    assert res.status_code == 200, res.text
    assert res.json()["output"].strip() == "namespace/default"
    records = audit_records(hostile_server, res.json()["request_id"])
    assert [r["event"] for r in records] == ["decision", "completion"]
