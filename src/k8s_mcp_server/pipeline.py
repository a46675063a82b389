"""The only place that calls the stages, in order.

    kubeconfig ─► parse ─► policy ─► audit "decision" ─► execute ─► redact ─► audit "completion"
                                 └─ deny ─► audit "decision" ─► PolicyDenied

Every refusal on the way is audited once (`decision: rejected` or `deny`) before it is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from k8s_mcp_server.approvals.gate import ApprovalGate, ApprovalPending, ApprovalsUnavailable
from k8s_mcp_server.approvals.preview import preview as approval_preview
from k8s_mcp_server.audit import (
    AuditLog,
    completion_record,
    decision_record,
    not_run_record,
    rejected_record,
)
from k8s_mcp_server.contracts import (
    ClusterRef,
    CommandClass,
    CommandRequest,
    Decision,
    ParsedCommand,
    RawOutput,
    RedactedOutput,
)
from k8s_mcp_server.errors import AuditUnavailable, KubeconfigError, ProxyError
from k8s_mcp_server.execute import Access, Executor, caller_key
from k8s_mcp_server.kubeconfig import DefaultKubeconfig, Kubeconfig, KubeconfigCache, KubeconfigPolicy
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.policy import CompiledPolicy, evaluate
from k8s_mcp_server.policy.clusters import request_decision
from k8s_mcp_server.redact import Redactor, ResponseRedaction
from k8s_mcp_server.redact.provenance import SecretValues

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


class PolicySource(Protocol):
    """A PolicyStore, or anything that hands out the policy in force now."""

    def current(self) -> CompiledPolicy: ...


class Observer(Protocol):
    """Receives stage timings and outcomes (metrics); must not raise and must not block."""

    def stage(self, name: str, seconds: float) -> None: ...

    def outcome(self, request: CommandRequest, decision: str, rule: str | None, code: str | None) -> None: ...

    def redactions(self, counts: Mapping[str, int]) -> None: ...


class _NoObserver:
    def stage(self, name: str, seconds: float) -> None:
        pass

    def outcome(self, request: CommandRequest, decision: str, rule: str | None, code: str | None) -> None:
        pass

    def redactions(self, counts: Mapping[str, int]) -> None:
        pass


@dataclass(frozen=True, kw_only=True)
class Completed:
    output: RedactedOutput
    warnings: tuple[str, ...]
    # The raw output, kept only so that a large output's executor lane (released when the raw output
    # is freed) stays held until the caller has serialized the response: that bounds how many
    # large responses are being copied at once, not only how many are being read and redacted.
    lane: object = field(default=None, repr=False)
    decision: Decision | None = None  # what the policy said (its rule), for the request log


class Pipeline:
    """Composes the stages; holds no per-request state."""

    def __init__(
        self,
        *,
        policies: PolicySource,
        audit: AuditLog,
        redactor: Redactor,
        executor: Executor,
        kubeconfig_policy: KubeconfigPolicy,
        default_kubeconfig: DefaultKubeconfig | None,
        command_timeout: float,
        max_command_timeout: float,
        max_command_length: int,
        observer: Observer | None = None,
        provenance: SecretValues | None = None,
        approvals: ApprovalGate | None = None,
    ) -> None:
        self.policies = policies
        self.approvals = approvals
        self.observer: Observer = observer or _NoObserver()
        self.provenance = provenance
        self.audit = audit
        self.redactor = redactor
        self.executor = executor
        self.kubeconfigs = KubeconfigCache(kubeconfig_policy)
        self.default_kubeconfig = default_kubeconfig
        self.command_timeout = command_timeout
        self.max_command_timeout = max_command_timeout
        self.max_command_length = max_command_length

    async def run(
        self,
        request: CommandRequest,
        kubeconfig_b64: str | None,
        *,
        policies: PolicySource | None = None,
        kubeconfig: Kubeconfig | None = None,
    ) -> Completed:
        """Run one request under `policies` (the caller's policy; the default policy when None).

        `kubeconfig` is one the server chose for this request (impersonating the caller); it takes
        the place of the caller's and of the default."""
        policy = (policies or self.policies).current()
        kubeconfig, parsed, access = await self._understand(request, kubeconfig_b64, policy, kubeconfig)
        started = time.perf_counter()
        decision = request_decision(policy, request, evaluate(policy, parsed))
        self.observer.stage("policy", time.perf_counter() - started)
        needs_approval = decision.approval is not None
        if kubeconfig is None and (decision.allowed or needs_approval):  # the policy speaks first
            await self._require_kubeconfig(request, parsed, decision, access)
        cluster = kubeconfig.cluster if kubeconfig else None
        if needs_approval and request.approval_id is None:
            await self._request_approval(request, parsed, decision, kubeconfig, access)  # raises
        async with contextlib.AsyncExitStack() as admission:
            if needs_approval:
                decision = await self._redeem(request, parsed, decision, cluster, admission)
            await self._record_decision(
                request, parsed, decision, cluster, admission, admitted=needs_approval
            )
            started = time.perf_counter()
            redaction = self.redactor.start()
            known = self._known(parsed, kubeconfig, access)
            try:
                raw = await self._execute(request, parsed, decision, kubeconfig, access, redaction, known)
            except BaseException:
                known.cancel()
                raise
            self.observer.stage("execute", time.perf_counter() - started)
        started = time.perf_counter()
        output = await self._redact(raw, parsed, decision, redaction, known)
        self.observer.stage("redact", time.perf_counter() - started)
        self.observer.redactions(output.redactions)
        warnings = await self._record_completion(request, parsed, decision, cluster, output)
        return Completed(output=output, warnings=warnings, lane=raw, decision=decision)

    async def _understand(
        self,
        request: CommandRequest,
        kubeconfig_b64: str | None,
        policy: CompiledPolicy,
        chosen: Kubeconfig | None = None,
    ) -> tuple[Kubeconfig | None, ParsedCommand, Access]:
        """Load the kubeconfig, parse the command and choose how it reaches its server (argocd: the
        kubeconfig or the configured Argo CD); any refusal is audited once, then raised."""
        kubeconfig: Kubeconfig | None = None
        parsed: ParsedCommand | None = None
        try:
            started = time.perf_counter()
            kubeconfig = chosen or self._kubeconfig(kubeconfig_b64)
            default_ns = (kubeconfig.cluster.context_namespace if kubeconfig else None) or "default"
            parsed_at = time.perf_counter()
            self.observer.stage("kubeconfig", parsed_at - started)
            parsed = await _off_loop_if_long(
                request.command,
                partial(
                    parse_command,
                    request.tool,
                    request.command,
                    namespace=request.namespace,
                    default_namespace=default_ns,
                    max_length=self.max_command_length,
                ),
            )
            self.observer.stage("parse", time.perf_counter() - parsed_at)
            access = self.executor.access(parsed)
        except ProxyError as exc:
            audited = request
            if len(request.command) > self.max_command_length:
                # refused for its length: redacting all of it for the record would cost CPU (and the
                # GIL) in proportion to what the caller chose to send; its size is the evidence
                audited = dataclasses.replace(
                    request,
                    command=f"[not recorded: {len(request.command)} characters, over "
                    f"K8S_MCP_MAX_COMMAND_LENGTH={self.max_command_length}]",
                )
            record = await _off_loop_if_long(
                audited.command,
                partial(
                    rejected_record,
                    request=audited,
                    error=exc,
                    parsed=parsed,
                    policy_revision=policy.revision,
                    cluster=kubeconfig.cluster if kubeconfig else None,
                ),
            )
            await self._audit(request, record)
            raise
        return kubeconfig, parsed, access

    async def _require_kubeconfig(
        self, request: CommandRequest, parsed: ParsedCommand, decision: Decision, access: Access
    ) -> None:
        """An allowed command that talks to a cluster needs a kubeconfig; refuse (audited) without one."""
        if parsed.command_class is CommandClass.LOCAL or not access.needs_kubeconfig:
            return
        exc = KubeconfigError(
            "this command talks to a cluster and no kubeconfig was sent: send it base64-encoded in the "
            "X-Kubeconfig header (`base64 -w0 ~/.kube/config`; for a context whose user is an exec plugin, "
            "`k8s-mcp-server kubeconfig export --base64`) or the `kubeconfig` body field; or the operator "
            "sets K8S_MCP_DEFAULT_KUBECONFIG",
            code="kubeconfig_required",
        )
        await self._audit(
            request,
            rejected_record(request=request, error=exc, parsed=parsed, decision=decision, cluster=None),
        )
        raise exc

    async def _record_decision(
        self,
        request: CommandRequest,
        parsed: ParsedCommand,
        decision: Decision,
        cluster: ClusterRef | None,
        admission: contextlib.AsyncExitStack,
        *,
        admitted: bool = False,
    ) -> None:
        """Audit the decision before anything runs; raise PolicyDenied for a denial.

        An allowed command first takes its place in the executor (held by `admission`), so an audited
        allow is never followed by a `busy` refusal: `busy` is audited as `rejected` instead.
        """
        if decision.allowed and not admitted:
            try:
                caller = caller_key(request.principal, request.source_ip)
                await admission.enter_async_context(self.executor.admit(caller))
            except ProxyError as exc:
                await self._audit(
                    request,
                    rejected_record(
                        request=request, error=exc, parsed=parsed, decision=decision, cluster=cluster
                    ),
                )
                raise
        record = await _off_loop_if_long(
            request.command,
            partial(
                decision_record,
                request=request,
                parsed=parsed,
                decision=decision,
                outcome=decision.outcome,
                rule=None,  # the decision's own rule, reason and revision
                reason=None,
                policy_revision=None,
                cluster=cluster,
            ),
        )
        await self._audit(request, record)
        if not decision.allowed:
            raise PolicyDenied(decision)

    def _gate(self) -> ApprovalGate:
        if self.approvals is None:
            raise ApprovalsUnavailable(
                "this command needs an approval and this server keeps no approvals store: ask the "
                "operator to configure one (K8S_MCP_APPROVALS_DB)"
            )
        return self.approvals

    async def _request_approval(
        self,
        request: CommandRequest,
        parsed: ParsedCommand,
        decision: Decision,
        kubeconfig: Kubeconfig | None,
        access: Access,
    ) -> None:
        """Preview the command (a dry run in a place of its own, redacted), record
        `approval_requested` and store the pending approval: raises ApprovalPending. Nothing ran."""
        cluster = kubeconfig.cluster if kubeconfig else None
        try:
            gate = self._gate()
            gate.check_requester(request)
            async with self.executor.admit(caller_key(request.principal, request.source_ip)):
                known = self._known(parsed, kubeconfig, access)
                try:
                    values = await known.get()
                except BaseException:
                    known.cancel()
                    raise
                preview = await approval_preview(
                    parsed,
                    executor=self.executor,
                    redactor=self.redactor,
                    kubeconfig=kubeconfig,
                    access=access,
                    known_secrets=values,
                    default_namespace=(cluster.context_namespace if cluster else None) or "default",
                )
        except ProxyError as exc:
            record = rejected_record(
                request=request, error=exc, parsed=parsed, decision=decision, cluster=cluster
            )
            await self._audit(request, record)
            raise
        try:
            await gate.open(request, parsed, decision, cluster, preview)
        except ApprovalPending:
            self.observer.outcome(request, "approve", decision.rule, None)
            raise
        except ProxyError as exc:
            self.observer.outcome(request, "rejected", None, exc.code)
            raise

    async def _redeem(
        self,
        request: CommandRequest,
        parsed: ParsedCommand,
        decision: Decision,
        cluster: ClusterRef | None,
        admission: contextlib.AsyncExitStack,
    ) -> Decision:
        """Check the approval the request names against this very request, take the command's place,
        then consume the approval (once) and return the decision the run is recorded with."""
        try:
            gate = self._gate()
            approval = await gate.check(request, parsed, cluster, decision)
            await admission.enter_async_context(
                self.executor.admit(caller_key(request.principal, request.source_ip))
            )
            return await gate.consume(request, approval, decision)
        except ApprovalPending:
            raise  # still waiting: nothing changed, nothing to record
        except ProxyError as exc:
            record = rejected_record(
                request=request, error=exc, parsed=parsed, decision=decision, cluster=cluster
            )
            await self._audit(request, record)
            raise

    async def _execute(
        self,
        request: CommandRequest,
        parsed: ParsedCommand,
        decision: Decision,
        kubeconfig: Kubeconfig | None,
        access: Access,
        redaction: ResponseRedaction,
        known: KnownSecrets,
    ) -> RawOutput:
        """Run the checked pipeline in the place taken for it; a command that cannot start leaves a
        not-run completion, so "allowed, never ran" is not mistaken for "ran, then the server died".

        With filters after `|`, the tool's stdout is redacted before the first filter reads it.
        """
        cluster = kubeconfig.cluster if kubeconfig else None
        between = None
        if parsed.filters:

            async def between(stdout: bytes) -> bytes:
                values = await known.get()
                stage = partial(
                    redaction.stage, stdout, secrets=decision.secrets, known_secrets=values, parsed=parsed
                )
                return await asyncio.to_thread(stage) if len(stdout) > REDACT_INLINE_LIMIT else stage()

        try:
            return await self.executor.run(
                parsed.pipeline,
                kubeconfig=kubeconfig.sanitized if kubeconfig else None,
                timeout=self._timeout(request.timeout),
                cache_key=cluster.fingerprint if cluster else None,
                admitted=True,
                access=access,
                between=between,
            )
        except ProxyError as exc:
            with contextlib.suppress(AuditUnavailable):
                await self.audit.awrite(
                    not_run_record(
                        request=request,
                        parsed=parsed,
                        decision=decision,
                        cluster=cluster,
                        error_code=exc.code,
                        reason=exc.message,
                    )
                )
            raise
        except asyncio.CancelledError:
            # the caller cancelled or went away (MCP notifications/cancelled, a closed connection): the
            # executor has stopped the command; the decision still gets its completion, written even
            # though this task is being cancelled
            record = not_run_record(
                request=request,
                parsed=parsed,
                decision=decision,
                cluster=cluster,
                error_code="cancelled",
                reason="the caller cancelled the request or went away; the command was stopped",
            )
            with contextlib.suppress(AuditUnavailable):
                await asyncio.shield(self.audit.awrite(record))
            raise

    async def _redact(
        self,
        raw: RawOutput,
        parsed: ParsedCommand,
        decision: Decision,
        redaction: ResponseRedaction,
        known: KnownSecrets,
    ) -> RedactedOutput:
        values = await known.get()
        redact = partial(redaction.finish, raw, secrets=decision.secrets, known_secrets=values, parsed=parsed)
        if len(raw.stdout) + len(raw.stderr) > REDACT_INLINE_LIMIT:
            return await asyncio.to_thread(redact)
        return redact()

    async def _record_completion(
        self,
        request: CommandRequest,
        parsed: ParsedCommand,
        decision: Decision,
        cluster: ClusterRef | None,
        output: RedactedOutput,
    ) -> tuple[str, ...]:
        """Audit what ran; returns the response's warnings."""
        try:
            started = time.perf_counter()
            # In the file before the response leaves; fsynced with the next decision record: the
            # command has already run, so waiting for the disk here would only delay the caller.
            await self.audit.awrite(
                completion_record(
                    request=request, parsed=parsed, decision=decision, cluster=cluster, output=output
                ),
                durable=False,
            )
            self.observer.stage("audit", time.perf_counter() - started)
        except AuditUnavailable:
            # The command has already run: returning its result beats inviting a retry of a write.
            log.error("audit: completion record for request %s could not be written", request.request_id)
            return (*decision.warnings, "the completion audit record could not be written")
        return decision.warnings

    async def _audit(self, request: CommandRequest, record: dict[str, Any]) -> None:
        """Write a decision record, then count its outcome (an unwritable record counts as rejected)."""
        started = time.perf_counter()
        try:
            await self.audit.awrite(record)
        except AuditUnavailable as exc:
            self.observer.outcome(request, "rejected", None, exc.code)
            raise
        self.observer.stage("audit", time.perf_counter() - started)
        self.observer.outcome(request, record["decision"], record["rule"], record["error_code"])

    def _known(self, parsed: ParsedCommand, kubeconfig: Kubeconfig | None, access: Access) -> KnownSecrets:
        """Start reading the provenance values beside the command (when it reaches namespaces)."""
        base: tuple[str, ...] = kubeconfig.credentials if kubeconfig else ()
        if server_known := access.known_secrets():
            base = (*base, *server_known)
        pending = None
        if (
            self.provenance is not None
            and kubeconfig is not None
            and access.needs_kubeconfig
            and parsed.command_class is not CommandClass.LOCAL
            and parsed.namespaces
            and not parsed.cluster_scoped
        ):
            read = self.provenance.values(
                kubeconfig.sanitized, parsed.namespaces, kubeconfig.cluster.fingerprint
            )
            pending = asyncio.ensure_future(read)
        return KnownSecrets(base, pending)

    def _kubeconfig(self, encoded: str | None) -> Kubeconfig | None:
        if encoded:
            return self.kubeconfigs.load(encoded)
        return self.default_kubeconfig.get() if self.default_kubeconfig else None

    def _timeout(self, requested: float | None) -> float:
        wanted = self.command_timeout if requested is None or requested <= 0 else requested
        return min(wanted, self.max_command_timeout)


class KnownSecrets:
    """What a response is scrubbed of, whatever its shape: the request's credentials, the server's own
    (argocd's token), and, once read (redact/provenance.py), the values of the Secrets the request's
    credentials can read in the namespaces its command touches."""

    def __init__(self, base: tuple[str, ...], pending: asyncio.Task[tuple[str, ...]] | None) -> None:
        self._base = base
        self._pending = pending

    async def get(self) -> tuple[str, ...]:
        if self._pending is None:
            return self._base
        return (*self._base, *await self._pending)

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()


# Commands longer than this are parsed and redacted for the audit record in a worker thread: each
# stage is bounded (a few ms for the longest command), but many long commands at once would
# otherwise queue every other caller behind them on the event loop. Shorter ones stay inline,
# where a thread hop would cost more than the work.
LONG_COMMAND = 1024
_T = TypeVar("_T")


async def _off_loop_if_long(command: str, work: Callable[[], _T]) -> _T:
    if len(command) <= LONG_COMMAND:
        return work()
    return await asyncio.to_thread(work)
