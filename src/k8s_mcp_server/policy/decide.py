"""evaluate(policy, parsed) → Decision: pure, no I/O. The order of checks is documented in docs/policy.md."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from k8s_mcp_server.contracts import ApprovalNeed, CommandClass, Decision, ParsedCommand
from k8s_mcp_server.parse.templates import template_refusal
from k8s_mcp_server.policy.advice import guarded_refusal
from k8s_mcp_server.policy.globs import GlobSet
from k8s_mcp_server.policy.model import CompiledPolicy, CompiledRule
from k8s_mcp_server.policy.rules import DEFAULT_APPROVAL_TTL
from k8s_mcp_server.policy.vocab import parser_vocabulary

GUARDED_FLAG = "builtin:guarded-flag"
PIPES = "builtin:pipes"
READ_ONLY = "builtin:read-only"
SECRETS = "builtin:secrets"
NAMESPACES = "builtin:namespaces"
NEVER = "builtin:never-run"
TEMPLATES = "builtin:templates"
DEFAULT = "default"

_READ_ONLY_CLASSES = frozenset({CommandClass.READ, CommandClass.LOCAL, CommandClass.SENSITIVE_READ})
_CLASS_WORDS = {
    CommandClass.WRITE: "is a write",
    CommandClass.EXEC: "runs code in a workload or opens a tunnel",
    CommandClass.CREDENTIAL: "mints or reveals credentials",
    CommandClass.UNKNOWN: "is not known to be read-only",
}


def evaluate(policy: CompiledPolicy, parsed: ParsedCommand) -> Decision:
    """The policy's decision for one parsed command. Pure; results are cached per (policy, command)."""
    return _evaluate(policy, parsed)


@lru_cache(maxsize=4096)
def _evaluate(policy: CompiledPolicy, parsed: ParsedCommand) -> Decision:
    matched = tuple(rule for rule in policy.rules if rule_matches(rule, parsed))
    matched_ids = tuple(rule.id for rule in matched)
    if parsed.never_runs is not None:
        reason = f"{parsed.tool} {parsed.verb} is never run by this proxy (rule {NEVER}): {parsed.never_runs}"
        return _deny(policy, NEVER, reason, matched_ids, dry_run_applies=False)
    guarded = sorted({f.lstrip("-") for f in parsed.guarded_flags} - policy.flags_allow)
    if guarded:
        reason = guarded_refusal(parsed.tool, guarded, GUARDED_FLAG)
        return _deny(policy, GUARDED_FLAG, reason, matched_ids, dry_run_applies=False)
    if (why := template_refusal(parsed)) is not None:
        return _deny(policy, TEMPLATES, f"{why} (rule {TEMPLATES})", matched_ids, dry_run_applies=False)
    for check in (_pipes, _read_only, _secrets, _namespaces):
        found = check(policy, parsed)
        if found is not None:
            return _deny(policy, found[0], found[1], matched_ids)
    what = describe_command(parsed)
    for rule in matched:
        if rule.effect == "deny":
            why = rule.reason or rule.description or "the policy forbids it"
            return _deny(policy, rule.id, f"{what} is denied (rule {rule.id}): {why}", matched_ids)
    for rule in matched:  # approve overrides allow: a person says yes to this very command first
        if rule.effect == "approve":
            return _approve(policy, rule, what, matched_ids)
    for rule in matched:
        if rule.effect == "allow":
            return _decision(
                policy, True, "allow", rule.id, f"{what} is allowed (rule {rule.id})", matched_ids
            )
    if policy.default == "allow":
        return _decision(
            policy, True, "allow", DEFAULT, "no rule matched; this policy allows by default", matched_ids
        )
    reason = (
        f"no rule allows {what} and this policy denies by default (rule {DEFAULT}); "
        "ask for a policy with a rule that allows it"
    )
    return _deny(policy, DEFAULT, reason, matched_ids)


def describe_command(parsed: ParsedCommand) -> str:
    """'kubectl delete pods in dev': the words a caller recognises in a reason."""
    parts = [parsed.tool, parsed.verb, *parsed.resources]
    if parsed.namespaces and not parsed.cluster_scoped:
        where = "all namespaces" if "*" in parsed.namespaces else ", ".join(parsed.namespaces)
        parts.append(f"in {where}")
    return " ".join(parts)


def rule_matches(rule: CompiledRule, parsed: ParsedCommand) -> bool:
    """Whether a rule applies. Allow rules must cover everything touched; deny rules anything touched."""
    if rule.tools is not None and not rule.tools.match(parsed.tool):
        return False
    if rule.verbs is not None and not rule.verbs.match(parsed.verb):
        return False
    if rule.classes is not None and parsed.command_class not in rule.classes:
        return False
    any_of = rule.effect != "allow"  # deny and approve rules catch a command touching anything they name
    if not _covers(rule.resources, parsed.resources, any_of=any_of, base_names=any_of):
        return False
    namespaces = () if parsed.cluster_scoped else parsed.namespaces
    if "*" in namespaces and rule.namespaces is not None:
        # all namespaces include whichever ones a deny rule names; an allow rule must say "*"
        # (a glob such as "?" would otherwise match the marker "*" itself)
        return any_of or rule.namespaces.any
    return _covers(rule.namespaces, namespaces, any_of=any_of, base_names=False)


def _covers(patterns: GlobSet | None, values: tuple[str, ...], *, any_of: bool, base_names: bool) -> bool:
    if patterns is None:
        return True
    if not values:
        return patterns.any
    if base_names:  # deny rules also catch group-qualified spellings: "secrets" catches "secrets.v1"
        hits = (patterns.match(v) or patterns.match(v.split(".", 1)[0]) for v in values)
    else:
        hits = (patterns.match(v) for v in values)
    return any(hits) if any_of else all(hits)


Found = tuple[str, str] | None


def _pipes(policy: CompiledPolicy, parsed: ParsedCommand) -> Found:
    for stage in parsed.filters:
        program = stage[0] if stage else ""
        if program not in policy.pipes:
            allowed = ", ".join(sorted(policy.pipes)) or "none"
            return PIPES, (
                f"piping into '{program}' is not allowed by this policy (rule {PIPES}); "
                f"filters allowed after '|': {allowed}; remove the pipe or use an allowed filter"
            )
    return None


def _read_only(policy: CompiledPolicy, parsed: ParsedCommand) -> Found:
    if not policy.read_only or parsed.command_class in _READ_ONLY_CLASSES:
        return None
    words = _CLASS_WORDS.get(parsed.command_class, "is not known to be read-only")
    return READ_ONLY, (
        f"{parsed.tool} {parsed.verb} {words} and this policy is read-only (rule {READ_ONLY}); "
        "ask for a policy that allows it"
    )


def _secrets(policy: CompiledPolicy, parsed: ParsedCommand) -> Found:
    if policy.secrets != "deny":
        return None
    touches_secrets = any(r.split(".", 1)[0] == "secrets" for r in parsed.resources)
    # a write that prints what it touched (`label secret x a=b --dry-run=client -o yaml`) reads it too
    reads = parsed.prints_objects or parsed.command_class in (CommandClass.READ, CommandClass.SENSITIVE_READ)
    if parsed.command_class == CommandClass.SENSITIVE_READ or (touches_secrets and reads):
        return SECRETS, (
            f"{parsed.tool} {parsed.verb} reads secret values and this policy refuses secrets "
            f"(rule {SECRETS}); "
            "read something else, or ask for a policy with secrets: redact"
        )
    return None


def _namespaces(policy: CompiledPolicy, parsed: ParsedCommand) -> Found:
    allow, deny = policy.namespaces_allow, policy.namespaces_deny
    if (allow is None and not deny.patterns) or parsed.command_class == CommandClass.LOCAL:
        return None  # a local command (`version --client`) reaches no namespace
    targets = [*([] if parsed.cluster_scoped else parsed.namespaces), *_namespace_objects(parsed)]
    allowed = ", ".join((allow.patterns if allow is not None else ()) or ("none",))
    for namespace in targets:
        if namespace == "*":
            if deny.patterns:
                return NAMESPACES, (
                    f"all namespaces (-A) include ones this policy denies ({', '.join(deny.patterns)}) "
                    f"(rule {NAMESPACES}); name one namespace with -n"
                )
            if allow is not None and not allow.any:
                return NAMESPACES, (
                    f"all namespaces (-A) reach beyond this policy's allowed namespaces ({allowed}) "
                    f"(rule {NAMESPACES}); name one of them with -n"
                )
        elif deny.match(namespace):
            return (
                NAMESPACES,
                f"namespace '{namespace}' is denied by this policy (rule {NAMESPACES}); "
                "use another namespace",
            )
        elif allow is not None and not allow.match(namespace):
            return NAMESPACES, (
                f"namespace '{namespace}' is not among this policy's allowed namespaces ({allowed}) "
                f"(rule {NAMESPACES}); use -n with one of them"
            )
    return None


def _namespace_objects(parsed: ParsedCommand) -> list[str]:
    """Namespace objects the command names (`delete namespace kube-system`): checked like namespaces."""
    if not any(r.split(".", 1)[0] == "namespaces" for r in parsed.resources):
        return []
    canonical = parser_vocabulary().resource_name
    found = []
    for name in parsed.names:
        kind, slash, obj = name.rpartition("/")
        if slash and canonical(kind) == "namespaces":
            found.append(obj)
        elif not slash and parsed.resources == ("namespaces",):
            found.append(name)
    return found


def _approve(policy: CompiledPolicy, rule: CompiledRule, what: str, matched: tuple[str, ...]) -> Decision:
    """An approve rule decides: the command waits for an approver (in dry-run mode it runs, warned)."""
    who = ", ".join(rule.approvers) if rule.approvers else "a principal with the approver role"
    why = f": {rule.reason}" if rule.reason else ""
    reason = f"{what} needs an approval by {who} (rule {rule.id}){why}"
    if policy.mode == "dry-run":
        return _decision(
            policy, True, "would-deny", rule.id, reason, matched, warnings=(f"would need approval: {reason}",)
        )
    need = ApprovalNeed(
        rule=rule.id,
        approvers=rule.approvers,
        ttl_seconds=rule.ttl_seconds or DEFAULT_APPROVAL_TTL,
        reason=rule.reason,
    )
    return replace(_decision(policy, False, "approve", rule.id, reason, matched), approval=need)


def _deny(
    policy: CompiledPolicy, rule: str, reason: str, matched: tuple[str, ...], *, dry_run_applies: bool = True
) -> Decision:
    if policy.mode == "dry-run" and dry_run_applies:
        return _decision(
            policy, True, "would-deny", rule, reason, matched, warnings=(f"would deny: {reason}",)
        )
    return _decision(policy, False, "deny", rule, reason, matched)


def _decision(
    policy: CompiledPolicy,
    allowed: bool,
    outcome: str,
    rule: str,
    reason: str,
    matched: tuple[str, ...],
    warnings: tuple[str, ...] = (),
) -> Decision:
    return Decision(
        allowed=allowed,
        outcome="allow"
        if outcome == "allow"
        else "would-deny"
        if outcome == "would-deny"
        else "approve"
        if outcome == "approve"
        else "deny",
        rule=rule,
        reason=reason,
        policy_revision=policy.revision,
        secrets=policy.secrets,
        warnings=warnings,
        matched_rules=matched,
    )
