"""The only place that calls the stages, in order.

    kubeconfig ─► parse ─► policy ─► audit "decision" ─► execute ─► redact ─► audit "completion"
                                 └─ deny ─► audit "decision" ─► PolicyDenied

Every refusal on the way is audited once (`decision: rejected` or `deny`) before it is raised.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from k8s_mcp_server.audit import AuditLog, completion_record, decision_record
from k8s_mcp_server.contracts import (
    CommandClass,
    CommandRequest,
    Decision,
    ParsedCommand,
    RedactedOutput,
)
from k8s_mcp_server.errors import AuditUnavailable, KubeconfigError, ProxyError
from k8s_mcp_server.execute import Executor
from k8s_mcp_server.kubeconfig import Kubeconfig, KubeconfigCache, KubeconfigPolicy
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.policy import PolicyStore, evaluate
from k8s_mcp_server.redact import Redactor

log = logging.getLogger(__name__)

# Outputs above this size are redacted in a worker thread so one large response does not stall
# every other request on the event loop.
REDACT_INLINE_LIMIT = 256 * 1024


class PolicyDenied(ProxyError):
    """The policy said no; carries the rule so callers can route around it."""

    code = "policy_denied"
    status = 403

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.rule = decision.rule


@dataclass(frozen=True, kw_only=True)
class Completed:
    output: RedactedOutput
    warnings: tuple[str, ...]


class Pipeline:
    """Composes the stages; holds no per-request state."""

    def __init__(
        self,
        *,
        policies: PolicyStore,
        audit: AuditLog,
        redactor: Redactor,
        executor: Executor,
        kubeconfig_policy: KubeconfigPolicy,
        default_kubeconfig: Kubeconfig | None,
        command_timeout: float,
        max_command_timeout: float,
        max_command_length: int,
    ) -> None:
        self.policies = policies
        self.audit = audit
        self.redactor = redactor
        self.executor = executor
        self.kubeconfigs = KubeconfigCache(kubeconfig_policy)
        self.default_kubeconfig = default_kubeconfig
        self.command_timeout = command_timeout
        self.max_command_timeout = max_command_timeout
        self.max_command_length = max_command_length

    async def run(self, request: CommandRequest, kubeconfig_b64: str | None) -> Completed:
        policy = self.policies.current()
        kubeconfig: Kubeconfig | None = None
        parsed: ParsedCommand | None = None
        try:
            kubeconfig = self._kubeconfig(kubeconfig_b64)
            default_ns = (kubeconfig.cluster.context_namespace if kubeconfig else None) or "default"
            parsed = parse_command(
                request.tool,
                request.command,
                namespace=request.namespace,
                default_namespace=default_ns,
                max_length=self.max_command_length,
            )
            if kubeconfig is None and parsed.command_class is not CommandClass.LOCAL:
                raise KubeconfigError(
                    "this command talks to a cluster and no kubeconfig was sent: send it base64-encoded "
                    "in the X-Kubeconfig header (or the `kubeconfig` body field)",
                    code="kubeconfig_required",
                )
        except ProxyError as exc:
            await self.audit.awrite(
                decision_record(
                    request=request,
                    parsed=parsed,
                    decision=None,
                    outcome="rejected",
                    rule=None,
                    reason=exc.message,
                    policy_revision=policy.revision,
                    cluster=kubeconfig.cluster if kubeconfig else None,
                    error_code=exc.code,
                )
            )
            raise

        decision = evaluate(policy, parsed)
        cluster = kubeconfig.cluster if kubeconfig else None
        await self.audit.awrite(
            decision_record(
                request=request,
                parsed=parsed,
                decision=decision,
                outcome=decision.outcome,
                rule=decision.rule,
                reason=decision.reason,
                policy_revision=decision.policy_revision,
                cluster=cluster,
            )
        )
        if not decision.allowed:
            raise PolicyDenied(decision)

        raw = await self.executor.run(
            parsed.pipeline,
            kubeconfig=kubeconfig.sanitized if kubeconfig else None,
            timeout=self._timeout(request.timeout),
            cache_key=cluster.fingerprint if cluster else None,
        )
        known = kubeconfig.credentials if kubeconfig else ()
        if len(raw.stdout) + len(raw.stderr) > REDACT_INLINE_LIMIT:
            output = await asyncio.to_thread(
                self.redactor.redact, raw, secrets=decision.secrets, known_secrets=known, parsed=parsed
            )
        else:
            output = self.redactor.redact(raw, secrets=decision.secrets, known_secrets=known, parsed=parsed)
        del raw
        warnings = decision.warnings
        try:
            await self.audit.awrite(
                completion_record(
                    request=request, parsed=parsed, decision=decision, cluster=cluster, output=output
                )
            )
        except AuditUnavailable:
            # The command has already run: returning its result beats inviting a retry of a write.
            log.error("audit: completion record for request %s could not be written", request.request_id)
            warnings = (*warnings, "the completion audit record could not be written")
        return Completed(output=output, warnings=warnings)

    def _kubeconfig(self, encoded: str | None) -> Kubeconfig | None:
        if encoded:
            return self.kubeconfigs.load(encoded)
        return self.default_kubeconfig

    def _timeout(self, requested: float | None) -> float:
        wanted = self.command_timeout if requested is None or requested <= 0 else requested
        return min(wanted, self.max_command_timeout)
