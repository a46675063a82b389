"""`k8s-mcp-server kubeconfig export`: make the kubeconfig a caller sends, on the caller's own machine.

The server never runs a credential plugin and never reads a file a kubeconfig names. On a developer's
machine both are theirs to do, so this turns one context of their kubeconfig (kubectl's
`KUBECONFIG` list or ~/.kube/config, merged the way kubectl merges it) into what the server accepts:
that context, its cluster and its user only, with files embedded (`certificate-authority` ->
`-data`, `tokenFile` -> `token`) and an `exec` plugin replaced by the credential it returns (run
here, without a shell, like kubectl runs it). Nothing in the server imports this module.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# A plugin may open a browser or wait for a device-code login (kubelogin, gcloud): give a person time.
PLUGIN_TIMEOUT = 300.0
# An ExecCredential is a token or a certificate and key: a few KiB; far more is not one.
_MAX_PLUGIN_OUTPUT = 1024 * 1024
_EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
# kubeconfig cluster keys -> ExecCredential spec.cluster fields (provideClusterInfo)
_CLUSTER_INFO = {
    "server": "server",
    "tls-server-name": "tlsServerName",
    "insecure-skip-tls-verify": "insecureSkipTLSVerify",
    "certificate-authority-data": "certificateAuthorityData",
    "proxy-url": "proxyURL",
    "disable-compression": "disableCompression",
}
_FILE_TO_DATA = {
    "certificate-authority": "certificate-authority-data",
    "client-certificate": "client-certificate-data",
    "client-key": "client-key-data",
}


class ExportError(Exception):
    """Why the kubeconfig cannot be exported; the message says what to do and holds no credential."""


@dataclass(frozen=True, kw_only=True)
class Exported:
    text: bytes  # the kubeconfig (YAML) holding one context, its cluster and its user
    context: str
    notes: tuple[str, ...]  # for the person: when the token expires, what the server may refuse


@dataclass(frozen=True)
class _Found:
    body: dict[str, Any]
    folder: Path  # relative paths in an entry are relative to the file it came from, as in kubectl


PluginRunner = Callable[[list[str], Mapping[str, str], bool], bytes]


def kubeconfig_paths(explicit: Path | None, environ: Mapping[str, str]) -> list[Path]:
    """--kubeconfig, else the KUBECONFIG list, else ~/.kube/config (kubectl's order)."""
    if explicit is not None:
        return [explicit]
    listed = [Path(p) for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return listed
    return [Path(environ.get("HOME", str(Path.home()))) / ".kube" / "config"]


def export_kubeconfig(
    paths: list[Path],
    *,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
    run_plugin: PluginRunner | None = None,
) -> Exported:
    """One context of the merged kubeconfig files, flattened, with its exec credential resolved."""
    env = dict(os.environ if environ is None else environ)
    current, contexts, clusters, users = _merge(paths)
    name = context or current
    if not name:
        raise ExportError(f"no current-context is set; choose one with --context ({_names(contexts)})")
    if name not in contexts:
        raise ExportError(f"there is no context {name!r} in {_shown(paths)}; contexts: {_names(contexts)}")
    ctx = contexts[name].body
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if not isinstance(cluster_name, str) or cluster_name not in clusters:
        raise ExportError(f"context {name!r} names no cluster that the kubeconfig defines")
    if user_name is not None and (not isinstance(user_name, str) or user_name not in users):
        raise ExportError(f"context {name!r} names no user that the kubeconfig defines")
    notes: list[str] = []
    cluster = _flatten(clusters[cluster_name], f"cluster {cluster_name!r}")
    user: dict[str, Any] | None = None
    if isinstance(user_name, str):
        user = _flatten(users[user_name], f"user {user_name!r}")
        if "exec" in user:
            spec = user.pop("exec")
            user.update(
                _exec_credential(
                    spec, users[user_name].folder, cluster, env, run_plugin or _run_plugin, user_name, notes
                )
            )
        if "auth-provider" in user:
            raise ExportError(
                f"user {user_name!r} uses a legacy auth-provider, which kubectl dropped in 1.26; switch it "
                "to the provider's exec plugin (kubelogin, gke-gcloud-auth-plugin, ...) and export again, "
                "or use a ServiceAccount token (kubectl create token NAME)"
            )
    context_body = {k: v for k, v in ctx.items() if k in ("cluster", "user", "namespace") and v}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": cluster}],
        "users": [] if user is None else [{"name": user_name, "user": user}],
        "contexts": [{"name": name, "context": context_body}],
        "current-context": name,
    }
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False).encode()
    return Exported(text=text, context=name, notes=(*notes, *_server_view(text)))


def encode(exported: Exported) -> str:
    """The one-line base64 form for the X-Kubeconfig header."""
    return base64.b64encode(exported.text).decode("ascii")


def _merge(
    paths: list[Path],
) -> tuple[str | None, dict[str, _Found], dict[str, _Found], dict[str, _Found]]:
    """kubectl's merge: the first file that sets current-context wins; for each name, the first entry."""
    current: str | None = None
    lists: dict[str, dict[str, _Found]] = {"contexts": {}, "clusters": {}, "users": {}}
    read_any = False
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ExportError(f"{path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
        read_any = True
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ExportError(f"{path} is not valid YAML{where}") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ExportError(
                f"{path} is not a kubeconfig (expected a mapping with clusters, users, contexts)"
            )
        if current is None and isinstance(data.get("current-context"), str) and data["current-context"]:
            current = data["current-context"]
        for key, inner in (("contexts", "context"), ("clusters", "cluster"), ("users", "user")):
            for item in data.get(key) or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    body = item.get(inner) or {}
                    if isinstance(body, dict):
                        lists[key].setdefault(item["name"], _Found(body, path.parent))
    if not read_any:
        raise ExportError(
            f"no kubeconfig found at {_shown(paths)}; name one with --kubeconfig or the KUBECONFIG variable"
        )
    return current, lists["contexts"], lists["clusters"], lists["users"]


def _flatten(found: _Found, what: str) -> dict[str, Any]:
    body = {k: v for k, v in found.body.items() if k != "extensions"}
    for key, data_key in _FILE_TO_DATA.items():
        if key in body:
            path = _resolve(body.pop(key), found.folder, f"{what} {key}")
            if not body.get(data_key):
                body[data_key] = base64.b64encode(_read(path, f"{what} {key}")).decode("ascii")
    if "tokenFile" in body:
        path = _resolve(body.pop("tokenFile"), found.folder, f"{what} tokenFile")
        if not body.get("token"):
            body["token"] = _read(path, f"{what} tokenFile").decode("utf-8", "replace").strip()
    return body


def _exec_credential(
    spec: object,
    folder: Path,
    cluster: dict[str, Any],
    env: dict[str, str],
    run: PluginRunner,
    user_name: str,
    notes: list[str],
) -> dict[str, Any]:
    """Run the user's plugin as kubectl would and return the user fields that replace it."""
    if not isinstance(spec, dict) or not isinstance(spec.get("command"), str) or not spec["command"]:
        raise ExportError(f"user {user_name!r}: exec has no command")
    api_version = spec.get("apiVersion") or _EXEC_API_VERSIONS[0]
    if api_version not in _EXEC_API_VERSIONS:
        raise ExportError(f"user {user_name!r}: exec apiVersion {api_version!r} is not one kubectl supports")
    command = spec["command"]
    if os.sep in command and not os.path.isabs(command):
        command = str(folder / command)  # kubectl: relative to the kubeconfig's folder
    found = shutil.which(command, path=env.get("PATH"))
    if found is None:
        hint = spec.get("installHint")
        raise ExportError(
            f"user {user_name!r} needs the credential plugin {spec['command']!r}, which is not on PATH"
            + (f"; {hint.strip()}" if isinstance(hint, str) and hint.strip() else "")
        )
    args = spec.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ExportError(f"user {user_name!r}: exec args must be a list of strings")
    plugin_env = dict(env)
    for item in spec.get("env") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            plugin_env[item["name"]] = str(item.get("value", ""))
    mode = spec.get("interactiveMode") or "IfAvailable"
    interactive = mode != "Never" and sys.stdin.isatty()
    if mode == "Always" and not interactive:
        raise ExportError(
            f"user {user_name!r}: the credential plugin needs a terminal (interactiveMode Always); "
            "run the export in one"
        )
    info: dict[str, Any] = {"interactive": interactive}
    if spec.get("provideClusterInfo"):
        info["cluster"] = {camel: cluster[key] for key, camel in _CLUSTER_INFO.items() if cluster.get(key)}
    plugin_env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": info}
    )
    output = run([found, *args], plugin_env, interactive)
    return _credential_fields(output, spec["command"], user_name, notes)


def _credential_fields(output: bytes, command: str, user_name: str, notes: list[str]) -> dict[str, Any]:
    try:
        credential = json.loads(output)
    except (ValueError, UnicodeDecodeError):
        credential = None
    status = credential.get("status") if isinstance(credential, dict) else None
    if not isinstance(status, dict):
        raise ExportError(f"the credential plugin {command!r} did not print an ExecCredential with a status")
    fields: dict[str, Any] = {}
    if isinstance(status.get("token"), str) and status["token"]:
        fields["token"] = status["token"]
    elif isinstance(status.get("clientCertificateData"), str) and isinstance(
        status.get("clientKeyData"), str
    ):
        fields["client-certificate-data"] = base64.b64encode(
            status["clientCertificateData"].encode()
        ).decode()
        fields["client-key-data"] = base64.b64encode(status["clientKeyData"].encode()).decode()
    else:
        raise ExportError(
            f"the credential plugin {command!r} returned neither a token nor a client certificate and key"
        )
    expires = status.get("expirationTimestamp")
    if isinstance(expires, str) and expires:
        notes.append(
            f"the credential of user {user_name!r} expires at {expires}: export again after that "
            "(or use a ServiceAccount token for a longer-lived one: kubectl create token NAME --duration 24h)"
        )
    return fields


def _run_plugin(argv: list[str], env: Mapping[str, str], interactive: bool) -> bytes:
    """The plugin as kubectl runs it: no shell, its messages and prompts on this terminal."""
    try:
        proc = subprocess.run(  # noqa: S603 -- the user's own plugin, on the user's own machine
            argv,
            env=dict(env),
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None,
            timeout=PLUGIN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExportError(
            f"the credential plugin {argv[0]!r} did not finish in {PLUGIN_TIMEOUT:.0f} s"
        ) from None
    except OSError as exc:
        raise ExportError(f"the credential plugin {argv[0]!r} cannot be started: {exc.strerror}") from None
    if proc.returncode != 0:
        raise ExportError(
            f"the credential plugin {argv[0]!r} exited with status {proc.returncode} (its messages are above)"
        )
    if len(proc.stdout) > _MAX_PLUGIN_OUTPUT:
        raise ExportError(f"the credential plugin {argv[0]!r} printed more than {_MAX_PLUGIN_OUTPUT} bytes")
    return proc.stdout


def _server_view(text: bytes) -> list[str]:
    """What a server with default settings would say about the result (its message holds no secret)."""
    from k8s_mcp_server.errors import KubeconfigError
    from k8s_mcp_server.kubeconfig.loader import load_kubeconfig_bytes
    from k8s_mcp_server.kubeconfig.model import KubeconfigPolicy

    try:
        load_kubeconfig_bytes(text, KubeconfigPolicy())
    except KubeconfigError as exc:
        return [f"a server with default settings would refuse this kubeconfig ({exc.code}): {exc.message}"]
    return []


def _resolve(value: object, folder: Path, what: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ExportError(f"{what} must be a file path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ExportError(f"{what}: {path} cannot be read ({exc.strerror})") from None


def _names(entries: Mapping[str, object]) -> str:
    return ", ".join(sorted(entries)[:20]) or "none"


def _shown(paths: list[Path]) -> str:
    return os.pathsep.join(str(p) for p in paths)
