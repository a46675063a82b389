"""Policy impact: replay audited requests under two policies and list what a change would newly allow
or deny (`k8s-mcp-server policy diff OLD NEW --audit FILE`, and the console's policy page).

Each audited `decision` record that was decided by a policy (allow, deny, would-deny; not `rejected`,
which never reached one) is parsed again from its recorded command, with the namespaces the record
names (the kubeconfig's namespace at the time is not in the record, the touched namespaces are), and
decided under OLD and NEW. Commands recorded with a secret redacted may no longer parse: they are
counted as not replayable, never silently dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from k8s_mcp_server.contracts import Decision, ParsedCommand
from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.policy.decide import evaluate
from k8s_mcp_server.policy.model import CompiledPolicy

_DECIDED = frozenset({"allow", "deny", "would-deny"})


@dataclass(frozen=True, kw_only=True)
class Change:
    """One audited request whose outcome differs between the two policies."""

    request_id: str
    ts: str
    principal: str
    tool: str
    command: str
    namespaces: tuple[str, ...]
    old_rule: str
    new_rule: str
    new_reason: str


@dataclass(kw_only=True)
class Impact:
    replayed: int = 0
    unchanged: int = 0
    not_replayable: int = 0
    newly_denied: list[Change] = field(default_factory=list)
    newly_allowed: list[Change] = field(default_factory=list)
    rule_changed: int = 0  # same outcome, another deciding rule

    @property
    def changed(self) -> bool:
        return bool(self.newly_denied or self.newly_allowed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "unchanged": self.unchanged,
            "not_replayable": self.not_replayable,
            "rule_changed": self.rule_changed,
            "newly_denied": [dataclasses.asdict(c) for c in self.newly_denied],
            "newly_allowed": [dataclasses.asdict(c) for c in self.newly_allowed],
        }


def replayable(record: dict[str, Any]) -> bool:
    return record.get("event") == "decision" and record.get("decision") in _DECIDED


def reparse(record: dict[str, Any]) -> ParsedCommand | None:
    """The command of an audited decision as the parser sees it, with the record's namespaces."""
    tool, command = record.get("tool"), record.get("command")
    if not isinstance(tool, str) or not isinstance(command, str):
        return None
    try:
        parsed = parse_command(tool, command)
    except ProxyError:
        return None
    namespaces = record.get("namespaces")
    if isinstance(namespaces, list) and all(isinstance(n, str) for n in namespaces):
        parsed = dataclasses.replace(parsed, namespaces=tuple(namespaces))
    return parsed


def replay(
    old: CompiledPolicy,
    new: CompiledPolicy,
    records: Iterable[dict[str, Any]],
    *,
    since: datetime | None = None,
    principal: str | None = None,
    record_time: Callable[[dict[str, Any]], datetime | None] | None = None,
) -> Impact:
    """Decide every replayable record under `old` and `new`. `record_time(record)` gives a record's
    time (audit/reader.record_time) when `since` is set."""
    impact = Impact()
    for record in records:
        if not replayable(record):
            continue
        if principal is not None and record.get("principal") != principal:
            continue
        if since is not None:
            when = record_time(record) if record_time is not None else None
            if when is None or when < since:
                continue
        parsed = reparse(record)
        if parsed is None:
            impact.not_replayable += 1
            continue
        impact.replayed += 1
        before, after = evaluate(old, parsed), evaluate(new, parsed)
        if before.allowed == after.allowed:
            impact.unchanged += 1
            impact.rule_changed += before.rule != after.rule
            continue
        change = _change(record, parsed, before, after)
        (impact.newly_allowed if after.allowed else impact.newly_denied).append(change)
    return impact


def _change(record: dict[str, Any], parsed: ParsedCommand, before: Decision, after: Decision) -> Change:
    return Change(
        request_id=str(record.get("request_id", "")),
        ts=str(record.get("ts", "")),
        principal=str(record.get("principal", "")),
        tool=parsed.tool,
        command=str(record.get("command", "")),
        namespaces=parsed.namespaces,
        old_rule=before.rule or "-",
        new_rule=after.rule or "-",
        new_reason=after.reason,
    )
