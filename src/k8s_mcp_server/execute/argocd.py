"""How an argocd command reaches Argo CD, and what its child process is given for that.

Three ways, chosen from the parsed command alone (never from the caller's request fields):

- **kube**: `--core`, `--port-forward[-namespace]` and every `admin ...` command talk to the
  cluster's API with the request's kubeconfig (KUBECONFIG in the child's environment points at the
  request workspace's copy, as for kubectl and helm). Nothing of the server's Argo CD settings is given.
- **server**: any other command that needs Argo CD talks to the API server the operator configured
  (`K8S_MCP_ARGOCD_SERVER`, token from `K8S_MCP_ARGOCD_AUTH_TOKEN_FILE` or `..._AUTH_TOKEN`), given to
  the child as ARGOCD_SERVER / ARGOCD_AUTH_TOKEN (and ARGOCD_OPTS for the TLS/gRPC-web choices). The
  token file is read at request time, so a rotated token is picked up without a restart.
- **caller**: the command names its own connection (`--server`, `--auth-token`, `--config`,
  `login SERVER`, ...: guarded flags that only a policy's `flags.allow` lets through). The server's
  settings are then withheld, so the token is never sent to an address, a TLS downgrade or a
  port-forward the caller chose.

Commands that touch nothing remote (`version --client`, `context`, `completion`) get nothing either.
A command that needs Argo CD when no server is configured and none of the kube ways applies is refused
before it runs, with a message saying what to add or configure.

The token is a known secret of every request (all tools), so the redactor replaces it wherever a CLI
prints it; it is never logged, and its setting is a SecretStr.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from k8s_mcp_server.contracts import CommandClass, ParsedCommand
from k8s_mcp_server.errors import ProxyError, ToolUnavailable

Reach = Literal["none", "local", "kube", "server", "caller"]

# A token file larger than this is not a token (Argo CD's JWTs are well under 2 KiB).
MAX_TOKEN_FILE_BYTES = 16 * 1024
# The redactor only matches known secrets of at least this many characters.
MIN_TOKEN_CHARS = 8

# Flags with which argocd talks to the cluster's API with the kubeconfig.
KUBE_FLAGS = frozenset({"core", "port-forward", "port-forward-namespace"})
# Flags with which the caller chooses the connection or its trust (all guarded by the parser).
CALLER_FLAGS = frozenset(
    {
        "server",
        "auth-token",
        "config",
        "argocd-context",
        "plaintext",
        "insecure",
        "server-crt",
        "client-crt",
        "client-crt-key",
        "header",
    }
)
# How pflag spells false for a boolean flag (`--core=false`).
_FALSE = frozenset({"false", "False", "FALSE", "f", "F", "0"})
# Verbs that need no Argo CD at all (they only read or write the workspace's argocd config).
LOCAL_VERBS = frozenset({"context", "completion"})

_ADDRESS = re.compile(r"[A-Za-z0-9._\[\]:-]+(?:/[A-Za-z0-9._~/-]*)?")


class ArgocdNotConfigured(ProxyError):
    code = "argocd_not_configured"
    status = 400


def valid_address(address: str) -> str:
    """ARGOCD_SERVER's form: `host[:port]`, no scheme, no credentials; raises ValueError otherwise."""
    if "://" in address:
        raise ValueError("write the Argo CD server as host[:port], without a scheme such as https://")
    if not _ADDRESS.fullmatch(address) or address.startswith("-"):
        raise ValueError("the Argo CD server must be host[:port] (letters, digits, '.', '-', ':', '[', ']')")
    return address


def valid_token(token: str, where: str) -> str:
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() or not c.isprintable() for c in token):
        raise ValueError(
            f"{where} must hold one token of at least {MIN_TOKEN_CHARS} printable characters, no spaces"
        )
    return token


@dataclass(frozen=True, kw_only=True)
class _Read:
    key: tuple[int, int, int, int]  # (device, inode, size, mtime_ns) of the file when it was read
    token: str


class ArgocdServer:
    """The operator's Argo CD API server: its address, token and connection choices."""

    def __init__(
        self,
        address: str,
        *,
        token: SecretStr | None = None,
        token_file: Path | None = None,
        grpc_web: bool = False,
        plaintext: bool = False,
        insecure: bool = False,
    ) -> None:
        if token is not None and token_file is not None:
            raise ValueError("set either the Argo CD token or the token file, not both")
        self.address = valid_address(address)
        self._token = token
        self._token_file = token_file
        self._options = tuple(
            flag
            for flag, on in (("--grpc-web", grpc_web), ("--plaintext", plaintext), ("--insecure", insecure))
            if on
        )
        self._lock = threading.Lock()  # redaction of large outputs runs in worker threads
        self._read: _Read | None = None
        self._previous: str | None = None  # the token before the last rotation, still redacted
        if token is not None:
            valid_token(token.get_secret_value(), "K8S_MCP_ARGOCD_AUTH_TOKEN")
        if token_file is not None:
            self.token()  # fail at start, not on the first request

    def __repr__(self) -> str:
        source = "file" if self._token_file else "setting" if self._token else "none"
        return f"ArgocdServer(address={self.address!r}, token=<{source}>, options={self._options!r})"

    def token(self) -> str | None:
        """The token now: the setting, or the file as it is at this moment (re-read when it changed)."""
        if self._token is not None:
            return self._token.get_secret_value()
        if self._token_file is None:
            return None
        try:
            fd = os.open(self._token_file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise _unreadable(exc.strerror or "cannot open it") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise _unreadable("it is not a regular file")
            key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            with self._lock:
                if self._read is not None and self._read.key == key:
                    return self._read.token
            if info.st_size > MAX_TOKEN_FILE_BYTES:
                raise _unreadable(f"it is larger than {MAX_TOKEN_FILE_BYTES} bytes")
            data = os.read(fd, MAX_TOKEN_FILE_BYTES + 1)
        except OSError as exc:
            raise _unreadable(exc.strerror or "cannot read it") from None
        finally:
            os.close(fd)
        if len(data) > MAX_TOKEN_FILE_BYTES:
            raise _unreadable(f"it is larger than {MAX_TOKEN_FILE_BYTES} bytes")
        try:
            token = valid_token(data.decode("utf-8").strip(), "the Argo CD token file")
        except (UnicodeDecodeError, ValueError):
            raise _unreadable(
                f"it must hold one token of at least {MIN_TOKEN_CHARS} printable characters, no spaces"
            ) from None
        with self._lock:
            if self._read is not None and self._read.token != token:
                self._previous = self._read.token
            self._read = _Read(key=key, token=token)
        return token

    def known_secrets(self) -> tuple[str, ...]:
        """Every token value this server may have handed out lately (for the redactor); never raises."""
        if self._token is not None:
            return (self._token.get_secret_value(),)
        with contextlib.suppress(ProxyError):  # unreadable now: the last good value is still redacted
            self.token()
        with self._lock:
            values = (self._read.token if self._read else None, self._previous)
        return tuple(v for v in values if v)

    def environment(self) -> dict[str, str]:
        """What an argocd child is given to reach this server (reads the token file now)."""
        env = {"ARGOCD_SERVER": self.address}
        token = self.token()
        if token is not None:
            env["ARGOCD_AUTH_TOKEN"] = token
        if self._options:
            env["ARGOCD_OPTS"] = " ".join(self._options)
        return env


def _unreadable(why: str) -> ToolUnavailable:
    # names the setting, never the file's content (nor its path: that is the operator's business)
    return ToolUnavailable(
        f"argocd: the server's Argo CD token file (K8S_MCP_ARGOCD_AUTH_TOKEN_FILE) cannot be used: {why}"
    )


@dataclass(kw_only=True)
class Access:
    """One request's way to Argo CD; remembers what it gave the child so the redactor knows it."""

    reach: Reach
    server: ArgocdServer | None = None
    given: tuple[str, ...] = field(default=(), repr=False)

    @property
    def needs_kubeconfig(self) -> bool:
        """Whether the command talks to a cluster with the kubeconfig (an argocd command that goes to
        an Argo CD server, the configured one or the caller's, does not)."""
        return self.reach in ("none", "kube")

    def child_environment(self) -> dict[str, str]:
        """Variables added to the tool's (first stage's) environment; filters never get them."""
        if self.reach != "server" or self.server is None:
            return {}
        env = self.server.environment()
        token = env.get("ARGOCD_AUTH_TOKEN")
        if token:
            self.given = (token,)
        return env

    def known_secrets(self) -> tuple[str, ...]:
        """Server-side secrets the output must not show: the token given to this child, and the
        server's current (and previous) token whatever the tool, so no CLI can print it."""
        extra = self.server.known_secrets() if self.server is not None else ()
        return tuple(dict.fromkeys((*self.given, *extra)))


def access_for(parsed: ParsedCommand, server: ArgocdServer | None) -> Access:
    """How `parsed` reaches Argo CD (pure: no I/O); raises ArgocdNotConfigured when it cannot."""
    if parsed.tool != "argocd":
        return Access(reach="none", server=server)
    names = {flag.name for flag in parsed.flags} | set(parsed.guarded_flags)
    # `--core=false` is argocd's default; a caller flag counts whatever its value (withholding is safe)
    kube = {flag.name for flag in parsed.flags if flag.name in KUBE_FLAGS and flag.value not in _FALSE}
    top = parsed.verb.split(" ", 1)[0]
    reach: Reach
    if names & CALLER_FLAGS:
        reach = "caller"
    elif kube or top == "admin":
        reach = "kube"
    elif parsed.command_class is CommandClass.LOCAL or top in LOCAL_VERBS:
        reach = "local"
    elif server is not None:
        reach = "server"
    else:
        raise ArgocdNotConfigured(
            f"argocd {parsed.verb} needs Argo CD and this server has no Argo CD API server configured: "
            "add --core to talk to the cluster's API with your kubeconfig (Argo CD's namespace as the "
            "context's namespace), or ask the operator to set K8S_MCP_ARGOCD_SERVER and "
            "K8S_MCP_ARGOCD_AUTH_TOKEN_FILE"
        )
    return Access(reach=reach, server=server)
