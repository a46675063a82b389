"""End to end against the real API server: no canary value reaches the caller, on any output path.

Secrets of every common type, a ConfigMap with a secret-looking value, a Deployment with secret env
values, a Secret created by `kubectl apply` (so its data sits in last-applied-configuration too) and a
helm release are created with unique canaries; then many command forms of the four tools run through
the server (REST, and some over MCP) under `secrets: redact`. A canary must not appear in any response,
raw, base64-encoded, base64 of base64, or inside a gzip+base64 payload (how helm stores releases).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import json
import re
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

from k8s_mcp_server.parse.clispec import grammar_version
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

MIN_FORMS = 40
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")

_STANDIN = """#!{python}
import sys
canaries = {canaries!r}
args = sys.argv[1:]
if args[:1] == ["version"]:
    print("{tool} version {version} (recording stand-in)")
else:
    print("-----BEGIN RSA PRIVATE KEY-----")
    print({pem_line!r})
    print("-----END RSA PRIVATE KEY-----")
    print("token: " + canaries["token"])
    print("Authorization: Bearer " + canaries["bearer"])
    print("url: https://admin:" + canaries["url"] + "@git.example.com/repo.git")
    print('{{"password": "' + canaries["json"] + '"}}')
    sys.stderr.write("login failed: password=" + canaries["stderr"] + "\\n")
"""


@dataclass
class Canaries:
    values: dict[str, str] = field(default_factory=dict)

    def new(self, label: str, prefix: str = "cnry") -> str:
        value = f"{prefix}{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"
        self.values[label] = value
        return value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _forms(value: str) -> set[str]:
    raw = value.encode()
    once = _b64(raw)
    return {value, once, once.rstrip("="), _b64(once.encode()).rstrip("=")}


def _decoded_layers(text: str, depth: int = 0) -> Iterator[str]:
    """`text`, and what every base64 blob in it decodes to (gunzipped when gzip), recursively."""
    yield text
    if depth >= 3:
        return
    for match in _B64_RUN.finditer(text):
        blob = match.group().replace("-", "+").replace("_", "/").rstrip("=")
        try:
            data = base64.b64decode(blob + "=" * (-len(blob) % 4))
        except (binascii.Error, ValueError):
            continue
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                continue
        decoded = data.decode("utf-8", errors="ignore")
        if len(decoded) >= 8:
            yield from _decoded_layers(decoded, depth + 1)


def leaks(text: str, canaries: Canaries) -> list[str]:
    """Labels of the canaries that `text` reveals in any form."""
    found = []
    layers = list(_decoded_layers(text))
    for label, value in canaries.values.items():
        forms = _forms(value)
        if any(form in layer for layer in layers for form in forms):
            found.append(label)
    return found


@dataclass
class Fixture:
    ns: str
    canaries: Canaries
    names: dict[str, str]
    release: str


def _kubectl_apply(cluster: Cluster, manifest: dict[str, Any]) -> None:
    subprocess.run(
        [str(cluster.kubectl), "--kubeconfig", str(cluster.admin), "apply", "-f", "-"],
        input=json.dumps(manifest),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def _tls_key_and_cert(tmp: Path) -> tuple[bytes, bytes]:
    key, crt = tmp / "tls.key", tmp / "tls.crt"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)),
            *("-out", str(crt), "-days", "1", "-subj", "/CN=canary.example.com"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return key.read_bytes(), crt.read_bytes()


def _write_chart(folder: Path) -> Path:
    chart = folder / "canary-chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: canary-chart\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("dbPassword: placeholder\napiToken: placeholder\n")
    (chart / "templates" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-creds\n"
        "stringData:\n  password: {{ .Values.dbPassword | quote }}\n  token: {{ .Values.apiToken | quote }}\n"
    )
    (chart / "templates" / "NOTES.txt").write_text("release {{ .Release.Name }} installed\n")
    return chart


def _wait_for_token(cluster: Cluster, ns: str, name: str) -> str:
    for _ in range(120):
        out = cluster.kubectl_run(
            "get", "secret", name, "-n", ns, "-o", "jsonpath={.data.token}", check=False
        ).stdout.strip()
        if out:
            return base64.b64decode(out).decode()
        subprocess.run(["sleep", "0.25"], check=True)
    raise AssertionError("the token controller did not fill the service-account token")


@pytest.fixture(scope="module")
def planted(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    tmp = tmp_path_factory.mktemp("redaction-cluster")
    suffix = uuid.uuid4().hex[:8]
    ns = f"redact-{suffix}"
    c = Canaries()
    names = {
        "opaque": f"opaque-{suffix}",
        "sa": f"robot-{suffix}",
        "sa_token": f"robot-token-{suffix}",
        "tls": f"tls-{suffix}",
        "docker": f"regcred-{suffix}",
        "cm": f"settings-{suffix}",
        "deploy": f"api-{suffix}",
        "applied": f"applied-{suffix}",
    }
    release = f"rel-{suffix}"
    cluster.kubectl_run("create", "namespace", ns)
    try:
        cluster.kubectl_run(
            "create", "secret", "generic", names["opaque"], "-n", ns,
            f"--from-literal=password={c.new('opaque-password')}",
            f"--from-literal=username={c.new('opaque-username')}",
            f"--from-literal=config.yaml=db:\n  host: x\n  pass: {c.new('opaque-nested')}\n",
        )  # fmt: skip
        cluster.kubectl_run("create", "serviceaccount", names["sa"], "-n", ns)
        _kubectl_apply(
            cluster,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/service-account-token",
                "metadata": {
                    "name": names["sa_token"],
                    "namespace": ns,
                    "annotations": {"kubernetes.io/service-account.name": names["sa"]},
                },
            },
        )
        c.values["sa-token"] = _wait_for_token(cluster, ns, names["sa_token"])
        key, _crt = _tls_key_and_cert(tmp)
        (tmp / "tls.key").write_bytes(key)
        body_lines = [ln for ln in key.decode().splitlines() if ln and not ln.startswith("-----")]
        c.values["tls-key-line"] = body_lines[len(body_lines) // 2]
        c.values["tls-key-last"] = body_lines[-1] if len(body_lines[-1]) >= 16 else body_lines[-2]
        cluster.kubectl_run(
            "create", "secret", "tls", names["tls"], "-n", ns,
            f"--cert={tmp / 'tls.crt'}", f"--key={tmp / 'tls.key'}",
        )  # fmt: skip
        cluster.kubectl_run(
            "create", "secret", "docker-registry", names["docker"], "-n", ns,
            "--docker-server=registry.example.com", "--docker-username=robot",
            f"--docker-password={c.new('docker-password')}",
        )  # fmt: skip
        cluster.kubectl_run(
            "create", "configmap", names["cm"], "-n", ns,
            f"--from-literal=password={c.new('cm-password')}",
            f"--from-literal=app.properties=db.url=jdbc:pg://db\ndb.password={c.new('cm-properties')}\n",
            "--from-literal=greeting=hello",
        )  # fmt: skip
        _kubectl_apply(
            cluster,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": names["deploy"], "namespace": ns},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": names["deploy"]}},
                    "template": {
                        "metadata": {"labels": {"app": names["deploy"]}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "api",
                                    "image": "registry.example.com/api:1",
                                    "env": [
                                        {"name": "LOG_LEVEL", "value": "info"},
                                        {"value": c.new("env-password"), "name": "PASSWORD"},
                                        {"name": "DB_TOKEN", "value": c.new("env-db-token")},
                                    ],
                                }
                            ]
                        },
                    },
                },
            },
        )
        _kubectl_apply(
            cluster,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": names["applied"], "namespace": ns},
                "stringData": {"api-key": c.new("applied-api-key"), "note": c.new("applied-note")},
            },
        )
        chart = _write_chart(tmp)
        subprocess.run(
            [
                *(str(cluster.helm), "install", release, str(chart), "--kubeconfig", str(cluster.admin)),
                *("-n", ns, "--set", f"dbPassword={c.new('helm-db-password')}"),
                *("--set", f"apiToken={c.new('helm-api-token')}"),
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
        yield Fixture(ns=ns, canaries=c, names=names, release=release)
    finally:
        cluster.kubectl_run("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="module")
def proxy(cluster: Cluster, planted: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on the permissive policy (secrets: redact) whose istioctl/argocd print the canaries."""
    tmp = tmp_path_factory.mktemp("redaction-proxy")
    c = planted.canaries
    standin_canaries = {k: c.new(f"standin-{k}") for k in ("token", "bearer", "url", "json", "stderr")}
    pem_line = c.new("standin-pem", prefix="MIIEow")
    for tool in ("istioctl", "argocd"):
        path = tmp / tool
        path.write_text(
            _STANDIN.format(
                python=sys.executable,
                tool=tool,
                version=grammar_version(tool),
                canaries=standin_canaries,
                pem_line=pem_line,
            )
        )
        path.chmod(0o755)
    env = {
        "K8S_MCP_POLICY": str(REPO / "policies" / "permissive.yaml"),
        "K8S_MCP_KUBECTL": str(cluster.kubectl),
        "K8S_MCP_HELM": str(cluster.helm),
        "K8S_MCP_ISTIOCTL": str(tmp / "istioctl"),
        "K8S_MCP_ARGOCD": str(tmp / "argocd"),
        "K8S_MCP_ARGOCD_SERVER": "argocd.example.test:443",  # argocd commands go to "the" API server
        "K8S_MCP_COMMAND_TIMEOUT": "60",
    }
    srv = start_server(tmp, env, name="redaction")
    try:
        yield srv
    finally:
        srv.stop()


def _rest_forms(f: Fixture) -> list[tuple[str, str]]:
    ns, n, rel = f.ns, f.names, f.release
    sec = f"get secret {n['opaque']} -n {ns}"
    helm_secret = f"sh.helm.release.v1.{rel}.v1"
    k = "kubectl"
    return [
        (k, f"{sec} -o yaml"),
        (k, f"{sec} -o json"),
        (k, f"{sec} -o jsonpath='{{.data.password}}'"),
        (k, f"{sec} -o jsonpath='{{.data}}'"),
        (k, f"{sec} -o jsonpath='{{.data.config\\.yaml}}'"),
        (k, f"get secrets -n {ns} -o jsonpath='{{range .items[*]}}{{.data}}{{end}}'"),
        (k, f"get secrets -n {ns} -o jsonpath='{{.items[*].data.password}}'"),
        (k, f"{sec} -o go-template='{{{{.data.password}}}}'"),
        (k, f"get secrets -n {ns} -o go-template='{{{{range .items}}}}{{{{.data}}}}{{{{end}}}}'"),
        (k, f"{sec} -o go-template='{{{{index .data \"password\"}}}}'"),
        (k, f"{sec} -o custom-columns=NAME:.metadata.name,PW:.data.password"),
        (k, f"get secrets -n {ns} -o custom-columns=D:.data"),
        (k, f"get secrets -n {ns} -o wide"),
        (k, f"get secrets -n {ns} -o name"),
        (k, f"get secrets -n {ns}"),
        (k, f"describe secret {n['opaque']} -n {ns}"),
        (k, f"describe secret {n['sa_token']} -n {ns}"),
        (k, f"describe secrets -n {ns}"),
        (k, f"get secret {n['sa_token']} -n {ns} -o yaml"),
        (k, f"get secret {n['sa_token']} -n {ns} -o jsonpath='{{.data.token}}'"),
        (k, f"get secret {n['tls']} -n {ns} -o yaml"),
        (k, f"get secret {n['tls']} -n {ns} -o jsonpath='{{.data.tls\\.key}}'"),
        (k, f"get secret {n['docker']} -n {ns} -o json"),
        (k, f"get secret {n['docker']} -n {ns} -o jsonpath='{{.data.\\.dockerconfigjson}}'"),
        (k, f"get secret {n['applied']} -n {ns} -o yaml"),
        (k, f"get secret {n['applied']} -n {ns} -o json"),
        (k, f"get secret {n['applied']} -n {ns} -o jsonpath='{{.metadata.annotations}}'"),
        (k, f"get secret {helm_secret} -n {ns} -o yaml"),
        (k, f"get secret {helm_secret} -n {ns} -o jsonpath='{{.data.release}}'"),
        (k, "get secrets -A -o yaml"),
        (k, f"get secrets -n {ns} -o json"),
        (k, f"get all -n {ns} -o yaml"),
        (k, f"get deploy {n['deploy']} -n {ns} -o yaml"),
        (k, f"get deploy {n['deploy']} -n {ns} -o json"),
        (k, f"get deploy -n {ns} -o jsonpath='{{.items[*].spec.template.spec.containers[*].env}}'"),
        (k, f"get deploy {n['deploy']} -n {ns} -o jsonpath='{{..value}}'"),
        (k, f"get rs,pods -n {ns} -o yaml"),
        (k, f"describe deploy {n['deploy']} -n {ns}"),
        (k, f"get cm {n['cm']} -n {ns} -o yaml"),
        (k, f"get cm {n['cm']} -n {ns} -o json"),
        (k, f"get cm {n['cm']} -n {ns} -o jsonpath='{{.data.password}}'"),
        (k, f"get cm {n['cm']} -n {ns} -o jsonpath='{{.data}}'"),
        (k, f"describe cm {n['cm']} -n {ns}"),
        (k, f"{sec} -o json | jq .data"),
        (k, f"{sec} -o json | jq -r '.data.password'"),
        (k, f"{sec} -o json | jq -r '.data | to_entries[] | .value'"),
        (k, f"{sec} -o yaml | grep password"),
        (k, f"get secrets -n {ns} -o yaml | head -n 400"),
        (k, f"get secrets -n {ns} -o yaml | sort"),
        (k, f"get cm -n {ns} -o json | jq '.items[].data'"),
        (k, f"get deploy -n {ns} -o yaml | grep -A2 PASSWORD"),
        (k, "config view --raw"),
        (k, "config view"),
        ("helm", f"get values {rel} -n {ns}"),
        ("helm", f"get values {rel} -n {ns} --all -o json"),
        ("helm", f"get values {rel} -n {ns} -o yaml"),
        ("helm", f"get manifest {rel} -n {ns}"),
        ("helm", f"get all {rel} -n {ns}"),
        ("helm", f"status {rel} -n {ns}"),
        ("helm", f"status {rel} -n {ns} -o json"),
        ("helm", f"history {rel} -n {ns}"),
        ("helm", f"list -n {ns}"),
        ("helm", "list -A -o json"),
        ("istioctl", f"proxy-config secret web-0 -n {ns}"),
        ("istioctl", "proxy-status"),
        ("argocd", "app get web"),
        ("argocd", "app list | grep -i token"),
        ("argocd", "cluster list"),
    ]


def _post(server: Server, headers: dict[str, str], tool: str, command: str) -> httpx.Response:
    return httpx.post(f"{server.url}/tools/{tool}", json={"command": command}, headers=headers, timeout=120)


def test_no_canary_reaches_the_caller_over_rest_in_any_command_form(
    proxy: Server, planted: Fixture, admin_headers: dict[str, str]
) -> None:
    ran: list[str] = []
    refused: list[str] = []
    leaked: list[tuple[str, list[str]]] = []
    failed: list[tuple[str, str]] = []
    for tool, command in _rest_forms(planted):
        res = _post(proxy, admin_headers, tool, command)
        found = leaks(res.text, planted.canaries)
        if found:
            leaked.append((f"{tool} {command}", found))
        if res.status_code == 200:
            body = res.json()
            if body["exit_code"] != 0:
                failed.append((f"{tool} {command}", str(body["error"])[:300]))
            ran.append(command)
        else:
            assert res.status_code in (400, 403), res.text
            detail = res.json()["detail"]
            refused.append(f"{tool} {command} -> {detail['code']} {detail.get('rule')}")
    print(f"\n{len(ran)} command forms ran through the proxy; refused: {refused}")
    for command, labels in leaked:
        print(f"LEAK {command}: {labels}")
    for command, error in failed:
        print(f"FAILED {command}: {error}")
    assert leaked == []
    assert failed == []
    # templates over Secrets, workloads and ConfigMaps that could print values are refused before they
    # run (ask for -o json | jq instead); the value-free ones (names, labels) ran above
    templated = [
        f"{tool} {command} -> policy_denied builtin:templates"
        for tool, command in _rest_forms(planted)
        if any(f"-o {fmt}" in command for fmt in ("jsonpath", "go-template", "custom-columns"))
    ]
    assert len(templated) >= 19
    assert refused == [*templated, "kubectl config view --raw -> policy_denied builtin:guarded-flag"]
    assert "cluster list" in ran  # a stand-in ran: its output went through the redactor
    assert len(ran) >= MIN_FORMS


def test_the_redacted_responses_still_show_keys_and_count_redactions(
    proxy: Server, planted: Fixture, admin_headers: dict[str, str]
) -> None:
    res = _post(
        proxy, admin_headers, "kubectl", f"get secret {planted.names['opaque']} -n {planted.ns} -o yaml"
    )
    body = res.json()
    assert 'password: "[REDACTED:secret-data:' in body["output"]
    assert body["redactions"] >= 3
    helm = _post(
        proxy,
        admin_headers,
        "kubectl",
        f"get secret sh.helm.release.v1.{planted.release}.v1 -n {planted.ns} -o yaml",
    )
    assert 'release: "[REDACTED:helm-release:' in helm.json()["output"]


async def test_no_canary_reaches_an_mcp_client(
    server: Server, planted: Fixture, admin_headers: dict[str, str]
) -> None:
    ns, n = planted.ns, planted.names
    calls = [
        ("kubectl", f"get secret {n['opaque']} -n {ns} -o yaml"),
        ("kubectl", f"get secret {n['opaque']} -n {ns} -o json | jq -r .data.password"),
        ("kubectl", f"describe secret {n['sa_token']} -n {ns}"),
        ("kubectl", f"get deploy {n['deploy']} -n {ns} -o json | jq '.spec.template.spec.containers'"),
        ("kubectl", f"get secret sh.helm.release.v1.{planted.release}.v1 -n {ns} -o json"),
        ("helm", f"get values {planted.release} -n {ns}"),
        ("helm", f"get manifest {planted.release} -n {ns}"),
    ]
    async with (
        httpx.AsyncClient(headers=admin_headers, timeout=120) as http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        for tool, command in calls:
            result = await session.call_tool(tool, {"command": command})
            text = "".join(c.text for c in result.content if isinstance(c, TextContent))
            assert not result.isError, text[:500]
            assert result.structuredContent is not None and result.structuredContent["exit_code"] == 0, text[
                :500
            ]
            assert leaks(json.dumps(result.structuredContent), planted.canaries) == [], command
            assert leaks(text, planted.canaries) == [], command


# --- transforms: what a template, a filter, stderr or an exit code could make of a secret ----------

_PUNCT = "!#%&()*+,."  # base-11 digits 0-9 spelled in punctuation, "/" between characters
_PUNCT_MAP = "{" + ",".join(f'"{d}":"{p}"' for d, p in zip("0123456789", _PUNCT, strict=True)) + "}"
_CODES = re.compile(r"\d{2,3}(?:[\s,/]+\d{2,3}){7,}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
_PUNCT_RUN = re.compile("[" + re.escape(_PUNCT) + "/]{16,}")


def _decodings(text: str) -> Iterator[str]:
    """`text` and what an attacker's encodings of it decode to: URL encoding, characters split apart,
    decimal code points, hex, and the punctuation digits above."""
    yield text
    yield urllib.parse.unquote(text)
    yield re.sub(r"[\s,/\"\[\]]", "", text)
    for match in _CODES.finditer(text):
        yield "".join(chr(int(n)) for n in re.findall(r"\d+", match.group()) if int(n) < 0x110000)
    for match in _HEX.finditer(text):
        with contextlib.suppress(ValueError):
            yield bytes.fromhex(match.group()).decode("utf-8", errors="ignore")
    digits = {p: d for d, p in zip("0123456789", _PUNCT, strict=True)}
    for match in _PUNCT_RUN.finditer(text):
        numbers = ["".join(digits.get(c, "") for c in part) for part in match.group().split("/")]
        yield "".join(chr(int(n)) for n in numbers if n and int(n) < 0x110000)


def transform_leaks(text: str, canaries: Canaries) -> list[str]:
    return sorted({label for layer in _decodings(text) for label in leaks(layer, canaries)})


def _transform_forms(f: Fixture) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(forms that must be refused, forms that run and must return nothing recoverable)."""
    ns, n, rel = f.ns, f.names, f.release
    sec = f"get secret {n['opaque']} -n {ns}"
    pw = ".data.password|@base64d"
    deploy = f"get deploy {n['deploy']} -n {ns} -o json"
    env = ".spec.template.spec.containers[].env[].value"
    refused = [
        ("kubectl", f"{sec} --template '{{{{.data.password|base64decode}}}}'"),
        ("kubectl", f"{sec} --template='{{{{printf \"%x\" .data.password}}}}'"),
        ("kubectl", f"{sec} -o go-template --template='{{{{.data.password | base64decode | urlquery}}}}'"),
        (
            "kubectl",
            f"wait --for=delete secret/{n['opaque']} -n {ns} --timeout=1s -o go-template='{{{{.data}}}}'",
        ),
        ("kubectl", f"label secret {n['opaque']} -n {ns} a=b --dry-run=client -o jsonpath='{{.data}}'"),
        (
            "kubectl",
            f"get deploy {n['deploy']} -n {ns} -o go-template='{{{{range .spec.template.spec.containers}}}}{{{{.env}}}}{{{{end}}}}'",  # noqa: E501
        ),
        ("kubectl", f"get cm {n['cm']} -n {ns} -o custom-columns=P:.data.password"),
        ("helm", f"get all {rel} -n {ns} --template '{{{{.Release.Config}}}}'"),
        (
            "helm",
            f"get all {rel} -n {ns} --template '{{{{range $k, $v := .Release.Config}}}}{{{{$v}}}}{{{{end}}}}'",  # noqa: E501
        ),
    ]
    ran = [
        # a value-free jsonpath/go-template that fails at run time: kubectl dumps the object it was given
        ("kubectl", f"{sec} -o jsonpath='{{.metadata.name.x}}' --allow-missing-template-keys=false"),
        ("kubectl", f"get secret {n['applied']} -n {ns} -o go-template='{{{{.metadata.name.x}}}}'"),
        ("kubectl", f"get secrets -n {ns} -o jsonpath='{{.items[*].metadata.name.x}}' --allow-missing-template-keys=false"),  # noqa: E501
        # jq writes to stderr, or halts with a message
        ("kubectl", f"{sec} -o json | jq '{pw}|error'"),
        ("kubectl", f"{sec} -o json | jq '.data|map_values(@base64d)|debug|length'"),
        ("kubectl", f"{sec} -o json | jq '.data|map_values(@base64d)|stderr|length'"),
        ("kubectl", f"{sec} -o json | jq -r '{pw}|halt_error'"),
        ("kubectl", f"{sec} -o json | jq -r '.data|map_values(@base64d)|tostring|halt_error(1)'"),
        # encodings the pattern pass cannot recognise
        ("kubectl", f"{sec} -o json | jq -r '{pw}|explode|map(tostring|split(\"\")|map({_PUNCT_MAP}[.])|join(\"\"))|join(\"/\")'"),  # noqa: E501
        ("kubectl", f"{sec} -o json | jq -r '[({pw}), \"abcdefghijklmnopqrstuvwxyz0123456789\"]|join(\" \")'"),  # noqa: E501
        ("kubectl", f"{sec} -o json | jq -c '{pw}|explode'"),
        ("kubectl", f"{sec} -o json | jq -r '.data[]|@base64d|@uri'"),
        ("kubectl", f"{sec} -o json | jq -r '.data[]|@base64d|explode|map(tostring)|join(\",\")'"),
        ("kubectl", f"get secrets -n {ns} -o yaml | grep -o -E '[A-Za-z0-9+/=]{{20,}}'"),
        # secret-bearing fields outside Secrets
        ("kubectl", f"{deploy} | jq -r '{env}|@uri'"),
        ("kubectl", f"{deploy} | jq -r '{env}|split(\"\")|join(\" \")'"),
        ("kubectl", f"{deploy} | jq -r '{env}|explode|map(tostring)|join(\",\")'"),
        ("kubectl", f"get deploy {n['deploy']} -n {ns} -o yaml | grep -o -E 'cnry[0-9a-f]+'"),
        ("kubectl", f"get cm {n['cm']} -n {ns} -o json | jq -r '.data[]|@uri'"),
        ("kubectl", f"get cm {n['cm']} -n {ns} -o json | jq -r '.data[]|split(\"\")|join(\" \")'"),
        ("kubectl", f"get cm {n['cm']} -n {ns} -o yaml | grep -o -E 'cnry[0-9a-f]+'"),
        ("helm", f"get values {rel} -n {ns} -o json | jq -r '.[]|@uri'"),
        ("helm", f"get values {rel} -n {ns} -a -o json | jq -r '[paths(scalars) as $p | getpath($p)|tostring]|join(\" \")|explode|map(tostring)|join(\",\")'"),  # noqa: E501
        ("helm", f"get manifest {rel} -n {ns} | grep -o -E 'cnry[0-9a-f]+'"),
        ("helm", f"get all {rel} -n {ns} | grep -o -E 'cnry[0-9a-f]+'"),
        ("kubectl", "config view --minify -o json | jq -r '.users[].user|to_entries[]|.value|tostring|@uri'"),
    ]  # fmt: skip
    return refused, ran


def test_no_transform_of_a_secret_reaches_the_caller(
    proxy: Server, planted: Fixture, admin_headers: dict[str, str], cluster: Cluster
) -> None:
    canaries = Canaries(dict(planted.canaries.values))
    admin = yaml.safe_load(cluster.admin.read_text())
    for i, user in enumerate(admin["users"]):
        for key in ("token", "client-key-data"):
            if value := user["user"].get(key):
                canaries.values[f"admin-{i}-{key}"] = value
    must_refuse, must_run = _transform_forms(planted)
    leaked: list[tuple[str, list[str]]] = []
    for tool, command in must_refuse:
        res = _post(proxy, admin_headers, tool, command)
        assert res.status_code == 403, (command, res.text[:300])
        detail = res.json()["detail"]
        assert detail["rule"] == "builtin:templates" and "-o json" in detail["message"], command
        assert not transform_leaks(res.text, canaries)
    for tool, command in must_run:
        res = _post(proxy, admin_headers, tool, command)
        assert res.status_code == 200, (command, res.text[:300])
        if found := transform_leaks(res.text, canaries):
            leaked.append((f"{tool} {command}", found))
    assert leaked == []


def test_a_filters_chosen_exit_code_spells_nothing_of_the_secret(
    proxy: Server, planted: Fixture, admin_headers: dict[str, str]
) -> None:
    value = planted.canaries.values["opaque-password"]
    sec = f"get secret {planted.names['opaque']} -n {planted.ns} -o json"
    codes = []
    for index in range(4, 10):  # past the canaries' fixed "cnry" prefix
        command = f"{sec} | jq '(.data.password|@base64d|explode|.[{index}]) as $c | \"x\"|halt_error($c)'"
        body = _post(proxy, admin_headers, "kubectl", command).json()
        codes.append(body["exit_code"])
    assert "".join(chr(c) if 0 < c < 256 else "?" for c in codes) != value[4:10]


def test_the_failing_template_dump_is_cut_but_the_error_is_kept(
    proxy: Server, planted: Fixture, admin_headers: dict[str, str]
) -> None:
    command = (
        f"get secret {planted.names['applied']} -n {planted.ns} -o jsonpath='{{.metadata.name.x}}' "
        "--allow-missing-template-keys=false"
    )
    body = _post(proxy, admin_headers, "kubectl", command).json()
    assert body["exit_code"] != 0
    text = json.dumps(body)
    assert "error executing jsonpath" in text and "removed by k8s-mcp-server" in text
    assert "last-applied-configuration" not in text and "map[string]interface" not in text


async def test_no_transform_of_a_secret_reaches_an_mcp_client(
    proxy: Server, planted: Fixture, admin_headers: dict[str, str]
) -> None:
    must_refuse, must_run = _transform_forms(planted)
    async with (
        httpx.AsyncClient(headers=admin_headers, timeout=120) as http,
        streamable_http_client(f"{proxy.url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        for tool, command in [*must_refuse[:3], *must_run[:12]]:
            result = await session.call_tool(tool, {"command": command})
            text = "".join(c.text for c in result.content if isinstance(c, TextContent))
            assert transform_leaks(text, planted.canaries) == [], command
