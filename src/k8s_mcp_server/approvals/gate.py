"""The approval gate the pipeline calls: open an approval, redeem it, and let approvers decide.

Storage calls run in worker threads (SQLite blocks). Every change of state is one conditional
UPDATE in the store, then its audit record; when the record cannot be written the change is
undone and the caller gets `audit_unavailable` (fail closed: no unaudited approval, no unaudited
consumption).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NoReturn, TypeVar

from k8s_mcp_server.approvals.model import Approval, Preview, Status, argv_digest, iso
from k8s_mcp_server.approvals.records import Act, act_record, requested_record
from k8s_mcp_server.approvals.store import ApprovalStore
from k8s_mcp_server.audit import AuditLog
from k8s_mcp_server.audit.secrets import redact_command, redact_text
from k8s_mcp_server.contracts import ClusterRef, CommandRequest, Decision, ParsedCommand, Transport
from k8s_mcp_server.errors import AuditUnavailable, ProxyError
from k8s_mcp_server.keys import ANONYMOUS, ApiKey

# While a caller waits for a decision, the store is read again this often (a decision made by
# another server process on the same database is seen within it; this process's own decisions
# wake the waiter at once).
POLL_INTERVAL = 1.0
# A decision's reason is shown to the requester and written to the audit log: a sentence, not a file.
MAX_REASON_CHARS = 1000
APPROVER_ROLE = "approver"
# How often the server expires (and audits) approvals nobody touched after their ttl.
SWEEP_INTERVAL = 30.0

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class ApprovalPending(ProxyError):
    """Not an error: the command waits for an approver. REST answers 202, MCP a non-error result."""

    code = "approval_pending"
    status = 202

    def __init__(self, approval: Approval, request_id: str) -> None:
        super().__init__(
            f"this command needs an approval ({approval.id}) by "
            f"{', '.join(approval.approvers) or 'an approver'} before it runs; it expires at "
            f"{iso(approval.expires_at)}"
        )
        self.approval = approval
        self.request_id = request_id

    def body(self) -> dict[str, Any]:
        """`{"approval": {...}, "request_id"}`: the approval, what it waits for and how to continue."""
        view = self.approval.view()
        view["how_to_continue"] = how_to_continue(self.approval)
        return {"approval": view, "request_id": self.request_id}


def how_to_continue(approval: Approval) -> str:
    return (
        f"once approved, send the same request again, unchanged (same command, namespace, kubeconfig "
        f'and credentials), with "approval_id": "{approval.id}" (REST body field or MCP tool argument); '
        f'add "approval_wait": SECONDS to wait for the decision in that call; or poll '
        f"GET /approvals/{approval.id}?wait=SECONDS. The approval is used once and expires at "
        f"{iso(approval.expires_at)}"
    )


class ApprovalsUnavailable(ProxyError):
    """No approvals store, or one that cannot be used now: nothing is held and nothing runs."""

    code = "approvals_unavailable"
    status = 503


class ApprovalRefused(ProxyError):
    """The approval cannot be used (or decided) as asked; `code` says why."""

    status = 403

    def __init__(self, message: str, *, code: str, status: int = 403) -> None:
        super().__init__(message, code=code)
        self.status = status


class ApprovalGate:
    def __init__(
        self,
        store: ApprovalStore,
        audit: AuditLog,
        *,
        max_wait: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.audit = audit
        self.max_wait = max_wait
        self.clock = clock
        self._changed: asyncio.Event | None = None

    # -- the requester's side (called by the pipeline) -------------------------------------------

    def check_requester(self, request: CommandRequest) -> None:
        """An approval binds to who asked: anonymous callers (no API keys, no OAuth) are one shared
        name, so nobody could be told apart from the requester. Refuse rather than hold it."""
        if request.principal == ANONYMOUS:
            raise ApprovalRefused(
                "this command needs an approval, and approvals need named callers: the operator "
                "configures API keys (K8S_MCP_API_KEYS_FILE, approvers with roles: [approver]) or OAuth",
                code="approval_needs_identity",
            )

    async def open(
        self,
        request: CommandRequest,
        parsed: ParsedCommand,
        decision: Decision,
        cluster: ClusterRef | None,
        preview: Preview,
    ) -> NoReturn:
        """Record `approval_requested`, store the pending approval, and raise `ApprovalPending`."""
        need = decision.approval
        if need is None:  # the pipeline only calls this for an approve decision
            raise ApprovalRefused("this command does not need an approval", code="approval_not_needed")
        now = self.clock()
        approval = Approval(
            id="apr-" + secrets.token_hex(12),
            status="pending",
            created_at=now,
            expires_at=now + need.ttl_seconds,
            request_id=request.request_id,
            principal=request.principal,
            transport=request.transport,
            tool=parsed.tool,
            command=redact_command(request.command),
            argv_digest=argv_digest(parsed),
            cluster_server=redact_command(cluster.server) if cluster and cluster.server else None,
            cluster_fingerprint=cluster.fingerprint if cluster else None,
            namespaces=parsed.namespaces,
            rule=need.rule,
            rule_reason=need.reason,
            policy_revision=decision.policy_revision,
            approvers=need.approvers,
            preview=preview,
        )
        await self.audit.awrite(
            requested_record(
                request=request, parsed=parsed, decision=decision, cluster=cluster, approval=approval
            )
        )
        await self._io(self.store.create, approval)
        raise ApprovalPending(approval, request.request_id)

    async def check(
        self,
        request: CommandRequest,
        parsed: ParsedCommand,
        cluster: ClusterRef | None,
        decision: Decision | None = None,
    ) -> Approval:
        """The approved approval `request` names, if it fits this very request; waits (bounded) while
        it is pending and the request asked to. Raises with what differs or what became of it."""
        approval_id = request.approval_id or ""
        approval = await self._current(approval_id)
        if approval is None or approval.principal != request.principal:
            # another principal's approval is "not found" too: ids are not an oracle for other callers
            raise ApprovalRefused(
                "no approval with this id was requested by you: send the command without approval_id "
                "to request one",
                code="approval_not_found",
                status=404,
            )
        rule = decision.approval.rule if decision is not None and decision.approval is not None else None
        differences = differs(approval, request, parsed, cluster, rule)
        if differences:
            raise ApprovalRefused(
                f"approval {approval.id} was given for another request: {'; '.join(differences)}. "
                "Send exactly the approved request, or send this one without approval_id to request "
                "its own approval",
                code="approval_mismatch",
            )
        wait = min(max(request.approval_wait or 0.0, 0.0), self.max_wait)
        if approval.status == "pending" and wait > 0:
            approval = await self.wait(approval.id, wait) or approval
        if approval.status == "pending":
            raise ApprovalPending(approval, request.request_id)
        refused_because(approval)
        return approval

    async def consume(self, request: CommandRequest, approval: Approval, decision: Decision) -> Decision:
        """Use the approval once (atomically: of 50 concurrent continues one wins), audit `consumed`,
        and return the decision the run is recorded with."""
        now = self.clock()
        won = await self._io(self.store.consume, approval.id, request_id=request.request_id, now=now)
        if not won:
            latest = await self._current(approval.id)
            refused_because(latest or replace(approval, status="consumed"))
            raise ApprovalRefused(f"approval {approval.id} was just used", code="approval_used", status=409)
        record = act_record(
            act="consumed",
            approval=approval,
            actor=request.principal,
            reason=None,
            request_id=request.request_id,
            transport=request.transport,
            source_ip=request.source_ip,
        )
        try:
            await self.audit.awrite(record)
        except AuditUnavailable:
            await self._io(self.store.unconsume, approval.id, request_id=request.request_id)
            raise
        self._notify()
        by = approval.decided_by or "?"
        return replace(
            decision,
            allowed=True,
            outcome="allow",
            reason=f"{decision.reason}; approved by {by} (approval {approval.id})",
            approval=None,
        )

    # -- the approver's side (REST /approvals) ----------------------------------------------------

    async def decide(
        self,
        approval_id: str,
        actor: ApiKey,
        *,
        approve: bool,
        reason: str | None,
        request_id: str,
        transport: Transport,
        source_ip: str | None,
    ) -> Approval:
        """Approve or deny a pending approval as `actor`; audited; raises with why not."""
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise ApprovalRefused(
                f"the reason is longer than {MAX_REASON_CHARS} characters: say it in a sentence",
                code="invalid_reason",
                status=400,
            )
        if not approve and not (reason and reason.strip()):
            raise ApprovalRefused(
                'a denial needs a reason the requester can act on: send {"reason": "..."}',
                code="reason_required",
                status=400,
            )
        approval = await self._current(approval_id)
        if approval is None or not may_see(actor, approval):
            raise ApprovalRefused("no approval with this id", code="approval_not_found", status=404)
        if approval.principal == actor.principal:
            raise ApprovalRefused(
                f"you requested approval {approval.id}: another approver must decide it",
                code="approval_own_request",
            )
        if not may_decide(actor, approval):
            raise ApprovalRefused(
                f"approval {approval.id} waits for {', '.join(approval.approvers)}; you are not among them",
                code="approver_not_listed",
            )
        if approval.status != "pending":
            raise ApprovalRefused(
                f"approval {approval.id} is {approval.status}, not pending: nothing to decide",
                code=f"approval_{approval.status}",
                status=409,
            )
        status: Act = "approved" if approve else "denied"
        now = self.clock()
        won = await asyncio.to_thread(
            self.store.decide, approval.id, status="approved" if approve else "denied",
            by=actor.principal, reason=reason, now=now,
        )  # fmt: skip
        if not won:
            latest = await self._current(approval.id)
            state = latest.status if latest is not None else "gone"
            raise ApprovalRefused(
                f"approval {approval.id} is {state}, not pending: nothing to decide",
                code=f"approval_{state}",
                status=409,
            )
        decided = replace(
            approval, status=status, decided_by=actor.principal, decided_at=now, decision_reason=reason
        )
        record = act_record(
            act=status,
            approval=decided,
            actor=actor.principal,
            reason=reason,
            request_id=request_id,
            transport=transport,
            source_ip=source_ip,
        )
        try:
            await self.audit.awrite(record)
        except AuditUnavailable:
            await self._io(self.store.undecide, approval.id, by=actor.principal)
            raise
        self._notify()
        return decided

    async def get(self, approval_id: str, viewer: ApiKey | None) -> Approval:
        approval = await self._current(approval_id)
        if approval is None or viewer is None or not may_see(viewer, approval):
            raise ApprovalRefused("no approval with this id", code="approval_not_found", status=404)
        return approval

    async def list(
        self, viewer: ApiKey, *, statuses: tuple[Status, ...] | None, limit: int
    ) -> list[Approval]:
        """Approvals `viewer` may decide (approvers) and their own requests."""
        await self.sweep()
        own = (
            None if is_approver(viewer) or getattr(viewer, "identity", None) is not None else viewer.principal
        )
        found = await self._io(self.store.search, statuses=statuses, principal=own, limit=limit)
        return [a for a in found if may_see(viewer, a)]

    async def wait(self, approval_id: str, seconds: float) -> Approval | None:
        """The approval once it is no longer pending, or as it is after `seconds` (bounded)."""
        deadline = time.monotonic() + min(max(seconds, 0.0), self.max_wait)
        while True:
            approval = await self._current(approval_id)
            remaining = deadline - time.monotonic()
            if approval is None or approval.status != "pending" or remaining <= 0:
                return approval
            changed = self._event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=min(POLL_INTERVAL, remaining))

    async def sweep_forever(self, interval: float = SWEEP_INTERVAL) -> None:
        """Expire overdue approvals every `interval` seconds (so `expired` is audited even for an
        approval nobody looks at again), until cancelled; a failing round is logged and retried."""
        while True:
            await asyncio.sleep(interval)
            try:  # shielded: a cancel (shutdown) does not split an expiry from its audit record
                await asyncio.shield(self.sweep())
            except Exception:  # the store is unreadable now: the next round tries again
                log.exception("approvals: the expiry sweep failed")

    async def sweep(self) -> int:
        """Expire (and audit) every approval past its time; returns how many this call expired."""
        ids = await self._io(self.store.overdue, self.clock())
        count = 0
        for approval_id in ids:
            if await self._expire(approval_id):
                count += 1
        return count

    # -- internals ---------------------------------------------------------------------------------

    async def _current(self, approval_id: str) -> Approval | None:
        """The stored approval, expired first (and audited once) when its time has passed."""
        if not approval_id or len(approval_id) > 64:
            return None
        approval = await self._io(self.store.get, approval_id)
        if (
            approval is not None
            and approval.status in ("pending", "approved")
            and approval.expires_at <= self.clock()
        ):
            await self._expire(approval_id)
            approval = await self._io(self.store.get, approval_id)
        return approval

    async def _expire(self, approval_id: str) -> bool:
        if not await self._io(self.store.expire, approval_id, now=self.clock()):
            return False  # another caller (or replica) expired it and wrote the record
        approval = await self._io(self.store.get, approval_id)
        if approval is not None:
            record = act_record(
                act="expired",
                approval=approval,
                actor="server",
                reason=f"not {'used' if approval.decided_by else 'decided'} by {iso(approval.expires_at)}",
                request_id=approval.request_id,
                transport=None,
                source_ip=None,
            )
            with contextlib.suppress(AuditUnavailable):  # an expiry changes nothing that can run
                await self.audit.awrite(record)
        self._notify()
        return True

    async def _io(self, call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """A store call in a worker thread; a store that cannot be used is `approvals_unavailable`
        (503: nothing is held, nothing runs), never an unhandled database error."""
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            log.error("approvals: the store failed: %s", type(exc).__name__)
            raise ApprovalsUnavailable(
                f"the approvals store cannot be used now ({type(exc).__name__}): nothing was held or "
                "run; the operator checks K8S_MCP_APPROVALS_DB and the server log"
            ) from None

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None


def differs(
    approval: Approval,
    request: CommandRequest,
    parsed: ParsedCommand,
    cluster: ClusterRef | None,
    decision_rule: str | None = None,
) -> list[str]:
    """What differs between the approved request and this one, named without any value that
    could be secret (arguments are compared by digest)."""
    found = []
    if decision_rule is not None and approval.rule != decision_rule:
        found.append(
            f"the policy now asks for an approval under rule {decision_rule}, not {approval.rule} "
            "(the policy changed)"
        )
    if approval.tool != parsed.tool:
        found.append(f"the tool differs (approved: {approval.tool}, this request: {parsed.tool})")
    fingerprint = cluster.fingerprint if cluster else None
    if approval.cluster_fingerprint != fingerprint:
        found.append("the cluster differs (the kubeconfig's fingerprint is not the approved one)")
    if approval.namespaces != parsed.namespaces:
        found.append(
            f"the namespaces differ (approved: {', '.join(approval.namespaces) or 'none'}; "
            f"this request: {', '.join(parsed.namespaces) or 'none'})"
        )
    if approval.argv_digest != argv_digest(parsed):
        found.append(
            "the command's arguments differ from the approved command (compared by digest; "
            f"approved {approval.argv_digest[:19]}…)"
        )
    return found


def refused_because(approval: Approval) -> None:
    """Raise for an approval that cannot be used (denied, expired, consumed); return if approved."""
    if approval.status == "approved":
        return
    if approval.status == "denied":
        why = redact_text(approval.decision_reason or "no reason given")
        raise ApprovalRefused(
            f"approval {approval.id} was denied by {approval.decided_by}: {why}", code="approval_denied"
        )
    if approval.status == "expired":
        raise ApprovalRefused(
            f"approval {approval.id} expired at {iso(approval.expires_at)}: send the command without "
            "approval_id to request a new one",
            code="approval_expired",
        )
    if approval.status == "consumed":
        raise ApprovalRefused(
            f"approval {approval.id} was already used (request {approval.consumed_request_id}); an approval "
            "runs its command once: send the command without approval_id to request a new one",
            code="approval_used",
            status=409,
        )
    raise ApprovalRefused(f"approval {approval.id} is {approval.status}", code="approval_pending", status=409)


def groups_of(caller: ApiKey) -> tuple[str, ...]:
    identity = getattr(caller, "identity", None)
    return tuple(getattr(identity, "groups", ()) or ())


def named(caller: ApiKey, approval: Approval) -> bool:
    """Whether the rule's approvers name the caller (by principal, or one of its groups)."""
    names = set(approval.approvers)
    return caller.principal in names or any(f"group:{g}" in names for g in groups_of(caller))


def is_approver(caller: ApiKey) -> bool:
    """The approver role of the keys file (OAuth callers are approvers of the approvals whose rule
    names their principal or a group of theirs: `may_decide`)."""
    return APPROVER_ROLE in caller.roles


def may_decide(caller: ApiKey, approval: Approval) -> bool:
    """Keys-file callers need the approver role and, when the rule names approvers, to be named;
    OAuth callers need to be named by principal or group (their groups are their roles)."""
    if groups_of(caller) or getattr(caller, "identity", None) is not None:
        return named(caller, approval) or (not approval.approvers and is_approver(caller))
    return is_approver(caller) and (not approval.approvers or named(caller, approval))


def may_see(caller: ApiKey, approval: Approval) -> bool:
    """The requester, every principal with the approver role (the review queue), and whoever the
    rule names."""
    return caller.principal == approval.principal or is_approver(caller) or may_decide(caller, approval)
