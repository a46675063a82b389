"""Build audit record dicts from the pipeline's contracts (the writer adds the chain fields)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from k8s_mcp_server.audit.arguments import redact_structured_argv, redact_structured_command
from k8s_mcp_server.audit.secrets import redact_argv, redact_command, redact_text
from k8s_mcp_server.contracts import (
    ClusterRef,
    CommandRequest,
    Decision,
    Identity,
    ParsedCommand,
    RedactedOutput,
)
from k8s_mcp_server.errors import ProxyError

RecordOutcome = Literal["allow", "deny", "would-deny", "rejected"]


def fingerprint(kubeconfig_bytes: bytes) -> str:
    """`sha256:<hex>` of the decoded kubeconfig: identifies it in the log without revealing it."""
    return "sha256:" + hashlib.sha256(kubeconfig_bytes).hexdigest()


def decision_record(
    *,
    request: CommandRequest,
    parsed: ParsedCommand | None,
    decision: Decision | None,
    outcome: str,
    rule: str | None,
    reason: str | None,
    policy_revision: str | None,
    cluster: ClusterRef | None,
    error_code: str | None = None,
) -> dict[str, Any]:
    """The `decision` record, written before anything runs (and the only record of a deny or reject).

    `parsed` is None for a request refused before or while parsing (outcome "rejected" with
    `error_code`). Missing rule/reason/revision fall back to the `decision`'s own.
    """
    record = _common(request, parsed, cluster)
    why = reason if reason is not None else (decision.reason if decision else None)
    record.update(
        event="decision",
        decision=outcome,
        rule=rule if rule is not None else (decision.rule if decision else None),
        # A refusal's message may quote the caller's words (an unknown subcommand, a bad namespace).
        reason=redact_text(why) if why is not None else None,
        policy_revision=policy_revision
        if policy_revision is not None
        else (decision.policy_revision if decision else None),
        error_code=error_code,
        warnings=[redact_text(warning) for warning in decision.warnings] if decision else [],
    )
    return record


def rejected_record(
    *,
    request: CommandRequest,
    error: ProxyError,
    parsed: ParsedCommand | None = None,
    decision: Decision | None = None,
    policy_revision: str | None = None,
    cluster: ClusterRef | None = None,
) -> dict[str, Any]:
    """The one record of a refused request: `decision: rejected` with the error's code and message
    (rule and revision fall back to `decision`'s when the policy had allowed it, as for `busy`)."""
    return decision_record(
        request=request,
        parsed=parsed,
        decision=decision,
        outcome="rejected",
        rule=None,
        reason=error.message,
        policy_revision=policy_revision,
        cluster=cluster,
        error_code=error.code,
    )


def completion_record(
    *,
    request: CommandRequest,
    parsed: ParsedCommand,
    decision: Decision,
    cluster: ClusterRef | None,
    output: RedactedOutput,
) -> dict[str, Any]:
    """The `completion` record, written after the command ran: exit, duration, size and redactions."""
    record = _common(request, parsed, cluster)
    record.update(
        event="completion",
        decision=decision.outcome,
        rule=decision.rule,
        reason=decision.reason,
        policy_revision=decision.policy_revision,
        error_code=None,
        exit_code=output.exit_code,
        duration_ms=round(float(output.duration_ms), 3),
        output_bytes=output.output_bytes,
        truncated=output.truncated,
        timed_out=output.timed_out,
        redactions={rule_id: int(count) for rule_id, count in sorted(output.redactions.items())},
    )
    return record


def not_run_record(
    *,
    request: CommandRequest,
    parsed: ParsedCommand,
    decision: Decision,
    cluster: ClusterRef | None,
    error_code: str,
    reason: str,
) -> dict[str, Any]:
    """The `completion` record of an allowed request whose command could not be started after its
    decision was written (no free slot: `busy`; the tool is not installed; ...). Without it, an
    auditor could not tell "allowed but never ran" from "ran, then the server died"."""
    record = _common(request, parsed, cluster)
    record.update(
        event="completion",
        decision=decision.outcome,
        rule=decision.rule,
        reason=redact_text(reason),
        policy_revision=decision.policy_revision,
        error_code=error_code,
        exit_code=None,
        duration_ms=0.0,
        output_bytes=0,
        truncated=False,
        timed_out=False,
        redactions={},
    )
    return record


def _common(
    request: CommandRequest, parsed: ParsedCommand | None, cluster: ClusterRef | None
) -> dict[str, Any]:
    if parsed is None:
        namespaces = [request.namespace] if request.namespace else []
        argv: list[str] | None = None
        filters: list[list[str]] = []
        verbs: list[str] = []
        resources: list[str] = []
        names: list[str] = []
    else:
        namespaces = list(parsed.namespaces)
        # Structured arguments first (patch documents, --set-json, pairs), then the flag and text rules.
        argv = redact_argv(redact_structured_argv(parsed.argv))
        filters = [redact_argv(stage) for stage in parsed.filters]
        verbs = [parsed.verb] if parsed.verb else []
        resources = list(parsed.resources)
        names = list(parsed.names)
    record: dict[str, Any] = {
        "request_id": request.request_id,
        "principal": request.principal,
        "transport": request.transport,
        "source_ip": request.source_ip,
        "tool": parsed.tool if parsed is not None else request.tool,
        "command": redact_command(redact_structured_command(request.command)),
        "argv": argv,
        "filters": filters,
        "verbs": verbs,
        "resources": resources,
        "names": names,
        "namespaces": namespaces,
        "cluster": _cluster(cluster),
    }
    if request.approval_id is not None:  # continuing an approved request (approvals/)
        record["approval_id"] = request.approval_id
    if request.identity is not None:  # token callers and impersonation only: key records keep their shape
        record["identity"] = identity_fields(request.identity, request.request_id)
    return record


def identity_fields(identity: Identity, request_id: str) -> dict[str, Any]:
    """Who the token said the caller is, and whom the cluster was told: `impersonation` holds what
    the API server's audit log shows as `impersonatedUser` (the request id is its `extra`)."""
    fields: dict[str, Any] = {
        "method": identity.method,
        "issuer": identity.issuer,
        "subject": identity.subject,
        "client": identity.client,
        "groups": list(identity.groups),
        "act": list(identity.act),
    }
    if identity.impersonated_user is not None:
        fields["impersonation"] = {
            "user": identity.impersonated_user,
            "groups": list(identity.impersonated_groups),
            "extra": {"k8s-mcp-request-id": [request_id]},
        }
    return fields


def _cluster(cluster: ClusterRef | None) -> dict[str, str | None] | None:
    if cluster is None:
        return None
    print_ = cluster.fingerprint
    if not print_.startswith("sha256:"):
        print_ = "sha256:" + print_
    # A server URL with userinfo (https://user:pass@host) must not reach the log either.
    server = redact_command(cluster.server) if cluster.server else cluster.server
    found = {"server": server, "fingerprint": print_}
    if cluster.name is not None:  # a named cluster the request picked
        found["name"] = cluster.name
    return found
