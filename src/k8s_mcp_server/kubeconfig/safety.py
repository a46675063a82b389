"""Refuse what would run a program, read a file or reach a forbidden address; keep the rest, cleaned.

Called for the cluster and the user of the context in use (schema.py has dropped every other entry):
a used exec plugin refuses the kubeconfig, an unused one is never looked at. Every refusal says what
to run instead, on the caller's own machine. Keys are a closed list: a key kubectl understands and
this module does not might read a file, so it is refused (`unsafe_kubeconfig`). `extensions` are
dropped, never written. Values are never put in a message.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from k8s_mcp_server.kubeconfig.hosts import HostError, parse_url, refusal
from k8s_mcp_server.kubeconfig.model import KubeconfigPolicy
from k8s_mcp_server.kubeconfig.problems import Problems, show
from k8s_mcp_server.kubeconfig.schema import Entry

# What to run instead, on the caller's machine (k8s_mcp_server/kubeconfig/export.py)
EXPORT = "k8s-mcp-server kubeconfig export --base64"
_FLATTEN = f"run `{EXPORT}` on your machine and send its output, which embeds it"
_FILE_KEYS = {
    "certificate-authority": f"embed the CA as certificate-authority-data: {_FLATTEN}",
    "client-certificate": f"embed the certificate as client-certificate-data: {_FLATTEN}",
    "client-key": f"embed the key as client-key-data: {_FLATTEN}",
    "tokenFile": f"put the token itself in token: {_FLATTEN}",
}
_PROGRAM_ADVICE = {
    "exec": (
        f"runs a credential plugin on the proxy host, which this server never does; run `{EXPORT}` on "
        "your machine and send its output instead: it runs the plugin there and puts the token it "
        "returns in place of the plugin (or use a ServiceAccount token: kubectl create token NAME)"
    ),
    "auth-provider": (
        "runs a legacy auth-provider plugin (removed from kubectl in 1.26) on the proxy host; switch the "
        f"user to its exec plugin (kubelogin, gke-gcloud-auth-plugin, ...) and run `{EXPORT}` on your "
        "machine, or use a ServiceAccount token (kubectl create token NAME)"
    ),
}
_IMPERSONATION_KEYS = ("as", "as-uid", "as-groups", "as-user-extra")
_CLUSTER_STRINGS = ("server", "tls-server-name", "proxy-url")
_CLUSTER_BOOLS = ("insecure-skip-tls-verify", "disable-compression")
_USER_STRINGS = ("token", "username", "password")
_DATA_KEYS = ("certificate-authority-data", "client-certificate-data", "client-key-data")
_SECRET_DATA_KEYS = ("client-certificate-data", "client-key-data")
_SERVER_PORTS = {"https": 443}
_PROXY_PORTS = {"https": 443, "http": 80, "socks5": 1080}
_PEM_BODY = re.compile(r"-----BEGIN [A-Z0-9 ]+-----(.*?)-----END [A-Z0-9 ]+-----", re.DOTALL)


def clean_cluster(entry: Entry, policy: KubeconfigPolicy, problems: Problems) -> dict[str, Any]:
    """The cluster fields to write, after reporting every unsafe or malformed one to `problems`."""
    kept: dict[str, Any] = {}
    for key, value in entry.body.items():
        where = f"{entry.path}.{key}"
        if value is None or value == "" or key == "extensions":
            continue
        if key in _FILE_KEYS:
            problems.unsafe(f"{where} reads a file on the proxy host; {_FILE_KEYS[key]}")
        elif key in _CLUSTER_STRINGS:
            if _is_string(where, value, problems):
                kept[key] = value
        elif key in _CLUSTER_BOOLS:
            if not isinstance(value, bool):
                problems.invalid(f"{where} must be true or false")
            elif value:
                kept[key] = value
        elif key in _DATA_KEYS:
            data = _decode_data(where, value, problems)
            if data is not None:
                kept[key] = base64.b64encode(data).decode("ascii")
        else:
            problems.unsafe(_unknown(where, "cluster"))
    if kept.get("insecure-skip-tls-verify") and not policy.allow_insecure_tls:
        problems.unsafe(
            f"{entry.path}.insecure-skip-tls-verify turns off certificate checks, which this server does "
            "not allow; remove it and set certificate-authority-data"
        )
    if "proxy-url" in kept:
        if policy.allow_proxy_url:
            _check_url(f"{entry.path}.proxy-url", kept["proxy-url"], _PROXY_PORTS, policy, problems)
        else:
            problems.unsafe(
                f"{entry.path}.proxy-url is not allowed on this server; remove it "
                "(the operator can allow it with K8S_MCP_ALLOW_PROXY_URL)"
            )
    if "server" in kept:
        _check_url(f"{entry.path}.server", kept["server"], _SERVER_PORTS, policy, problems)
    return kept


def clean_user(entry: Entry, problems: Problems) -> tuple[dict[str, Any], list[str]]:
    """The user fields to write and the secret strings they hold (raw and decoded forms)."""
    kept: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in entry.body.items():
        where = f"{entry.path}.{key}"
        if value is None or value == "" or key == "extensions":
            continue
        if key in _FILE_KEYS:
            problems.unsafe(f"{where} reads a file on the proxy host; {_FILE_KEYS[key]}")
        elif key in _PROGRAM_ADVICE:
            problems.unsafe(f"{where} {_PROGRAM_ADVICE[key]}")
        elif key in _IMPERSONATION_KEYS:
            problems.unsafe(
                f"{where} impersonates another identity, which the audit log would not show; remove it"
            )
        elif key in _USER_STRINGS:
            if _is_string(where, value, problems):
                kept[key] = value
                if key != "username":
                    secrets.append(value)
        elif key in _SECRET_DATA_KEYS:
            data = _decode_data(where, value, problems)
            if data is not None:
                kept[key] = base64.b64encode(data).decode("ascii")
                secrets.extend(_data_secrets(value, kept[key], data))
        else:
            problems.unsafe(_unknown(where, "user"))
    return kept, secrets


def _check_url(
    where: str, url: str, ports: dict[str, int], policy: KubeconfigPolicy, problems: Problems
) -> None:
    try:
        endpoint = parse_url(url, ports)
    except HostError as exc:
        (problems.unsafe if exc.kind == "unsafe" else problems.invalid)(f"{where}: {exc.message}")
        return
    reason = refusal(endpoint, policy.networks, policy.hosts)
    if reason is not None:
        problems.unsafe(f"{where}: {reason}; point it at the cluster's API server")


def _is_string(where: str, value: object, problems: Problems) -> bool:
    if isinstance(value, str):
        return True
    problems.invalid(f"{where} must be a string (quote it)")
    return False


def _decode_data(where: str, value: object, problems: Problems) -> bytes | None:
    if isinstance(value, str):
        compact = "".join(value.split())
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            pass
    problems.invalid(f"{where} must be base64-encoded PEM data")
    return None


def _data_secrets(original: str, canonical: str, data: bytes) -> list[str]:
    found = [original, canonical]
    text = data.decode("utf-8", errors="ignore")
    if text.strip():
        found.append(text)
        found.append(text.strip())
    found.extend("".join(body.split()) for body in _PEM_BODY.findall(text))
    return found


def _unknown(where: str, kind: str) -> str:
    path, _, key = where.rpartition(".")
    return (
        f"{path} has the key {show(key)}, which this server does not know and kubectl may act on "
        f"(read a file, run a program); remove it from the {kind} entry"
    )
