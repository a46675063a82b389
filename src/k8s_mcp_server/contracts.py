"""The one shared vocabulary: frozen, keyword-only values passed between pipeline stages.

Pydantic is used only at trust boundaries (request bodies, settings, the policy file); inside the
pipeline the stages exchange these dataclasses. `RawOutput` hides its content from `repr` and the
response builder only accepts `RedactedOutput`, so raw output cannot reach a caller or a log.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

TOOLS: tuple[str, ...] = ("kubectl", "helm", "istioctl", "argocd")

Transport = Literal["rest", "mcp"]
SecretsMode = Literal["redact", "deny", "allow"]
Outcome = Literal["allow", "deny", "would-deny", "approve"]


class CommandClass(enum.StrEnum):
    """What a subcommand does, as far as the policy's built-in guards are concerned."""

    READ = "read"
    SENSITIVE_READ = "sensitive-read"  # Secrets, `config view --raw`, helm values ...
    WRITE = "write"
    EXEC = "exec"  # exec/attach/cp/port-forward/proxy/debug: runs code or opens tunnels
    CREDENTIAL = "credential"  # mints or reveals credentials (`create token`, ...)
    LOCAL = "local"  # touches nothing remote (`version --client`, `completion`, ...)
    UNKNOWN = "unknown"  # never read-only


@dataclass(frozen=True, kw_only=True)
class Identity:
    """Who a token caller is, as its verified token says, and whom the cluster is told it is.

    API-key callers have no Identity (their principal says it all); `impersonated_*` are set only in
    the `impersonate` identity mode, and are what the API server's audit log shows.
    """

    method: Literal["oauth", "api-key"]
    issuer: str | None = None
    subject: str | None = None
    client: str | None = None  # the OAuth client the token was issued to (`azp` or `client_id`)
    groups: tuple[str, ...] = ()
    act: tuple[str, ...] = ()  # the delegation chain (RFC 8693 `act`), outermost actor first
    impersonated_user: str | None = None
    impersonated_groups: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CommandRequest:
    """One caller request, after authentication and schema validation."""

    request_id: str
    tool: str
    command: str
    namespace: str | None = None
    timeout: float | None = None
    principal: str = "anonymous"
    transport: Transport = "rest"
    source_ip: str | None = None
    identity: Identity | None = None
    cluster: str | None = None  # a named cluster the server holds (REST body / MCP argument `cluster`)
    # continuing a request that needed an approval (approvals/): the approval's id, and how long to
    # wait (seconds, bounded by the server) for an approver while it is still pending
    approval_id: str | None = None
    approval_wait: float | None = None


@dataclass(frozen=True, kw_only=True)
class Flag:
    """A flag as the CLI would read it: canonical long name (no dashes) and its value."""

    name: str
    value: str | None  # None for a boolean flag given without a value


@dataclass(frozen=True, kw_only=True)
class ParsedCommand:
    """A command the parser understood: the tool's argv and what it will do."""

    tool: str
    argv: tuple[str, ...]  # the tool's arguments, without the binary name; exactly what runs
    verb: str  # subcommand path with aliases resolved: "get", "rollout restart", "app sync"
    command_class: CommandClass
    resources: tuple[str, ...] = ()  # canonical resource names: "pods", "secrets", "deployments.apps"...
    names: tuple[str, ...] = ()  # object names given (NAME or TYPE/NAME)
    namespaces: tuple[str, ...] = ()  # namespaces touched; ("*",) for --all-namespaces
    cluster_scoped: bool = False  # every resource touched is cluster-scoped (namespaces do not apply)
    flags: tuple[Flag, ...] = ()
    guarded_flags: tuple[
        str, ...
    ] = ()  # credential/file flags the engine refuses unless the policy names them
    output_format: str | None = None  # -o value, e.g. "yaml", "jsonpath={.data}"
    filters: tuple[tuple[str, ...], ...] = ()  # argv of each `|` stage after the tool
    prints_objects: bool = False  # the output carries the touched objects or fields of them (-o, get)
    never_runs: str | None = None  # why the proxy never runs it, whatever the policy (`kubectl edit`)

    @property
    def pipeline(self) -> tuple[tuple[str, ...], ...]:
        return ((self.tool, *self.argv), *self.filters)


@dataclass(frozen=True, kw_only=True)
class ApprovalNeed:
    """What an `approve` rule asks for: who may say yes, for how long the approval holds, and why."""

    rule: str
    approvers: tuple[str, ...]  # principal names and `group:NAME` entries; empty: any approver
    ttl_seconds: float
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The policy's answer. A denial is a value, not an exception.

    `outcome: approve` (with `approval`): the command runs only once a person has approved it.
    """

    allowed: bool  # whether the command may run (True for would-deny in dry-run mode)
    outcome: Outcome
    rule: str | None  # id of the deciding rule; "default" / built-in guard ids otherwise
    reason: str
    policy_revision: str
    secrets: SecretsMode = "redact"
    warnings: tuple[str, ...] = ()
    matched_rules: tuple[str, ...] = ()
    approval: ApprovalNeed | None = None


@dataclass(frozen=True, kw_only=True)
class ClusterRef:
    """What the audit log may know of a kubeconfig: the server URL and a fingerprint, never content."""

    server: str | None
    fingerprint: str  # sha256 hex of the decoded kubeconfig bytes
    context_namespace: str | None = None
    name: str | None = None  # the server's name for it, when the request picked a named cluster


@dataclass(frozen=True, kw_only=True, repr=False)
class RawOutput:
    """What the process printed. Its repr hides the content: only the redactor reads it."""

    stdout: bytes
    stderr: bytes
    exit_code: int
    duration_ms: float
    truncated: bool = False
    timed_out: bool = False

    def __repr__(self) -> str:
        return (
            f"RawOutput(stdout=<{len(self.stdout)} bytes hidden>, stderr=<{len(self.stderr)} bytes hidden>, "
            f"exit_code={self.exit_code})"
        )


def _empty_counts() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class RedactedOutput:
    """Output the redactor has seen: the only output type a response or a log may carry."""

    stdout: str
    stderr: str
    exit_code: int
    duration_ms: float
    output_bytes: int  # raw bytes read from the process, before redaction
    truncated: bool = False
    timed_out: bool = False
    redactions: Mapping[str, int] = field(default_factory=_empty_counts)  # rule id -> count

    @property
    def redaction_count(self) -> int:
        return sum(self.redactions.values())
