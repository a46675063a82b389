"""Validate and compile the `rules:` list against the parser's vocabulary."""

from __future__ import annotations

import re
from dataclasses import dataclass

from yaml.nodes import Node, ScalarNode, SequenceNode

from k8s_mcp_server.contracts import CommandClass, SecretsMode
from k8s_mcp_server.policy.fields import Fields, Item
from k8s_mcp_server.policy.globs import GlobSet, glob_matches, is_glob
from k8s_mcp_server.policy.model import CompiledRule, Effect
from k8s_mcp_server.policy.vocab import Vocabulary
from k8s_mcp_server.policy.yamlnodes import describe, did_you_mean, scalar

RULE_KEYS = (
    "id",
    "effect",
    "tools",
    "verbs",
    "classes",
    "resources",
    "namespaces",
    "reason",
    "description",
    "approvers",
    "ttl",
)
EFFECTS = ("allow", "deny", "approve")
# An approval that outlives a working day is a standing permission, not a look at one command.
DEFAULT_APPROVAL_TTL = 3600.0
MAX_APPROVAL_TTL = 24 * 3600.0
_TTL = re.compile(r"([0-9]{1,6})(s|m|h)?")
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600}
# a principal (keys file, OAuth principal claim) or `group:NAME` (an OAuth group)
_APPROVER = re.compile(r"(group:)?[A-Za-z0-9][A-Za-z0-9._@:/-]{0,127}")
CLASSES = tuple(c.value for c in CommandClass)
_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RESERVED_IDS = frozenset({"default"})


@dataclass(frozen=True, kw_only=True)
class RuleContext:
    """Top-level settings a rule is checked against for contradictions (None when they were invalid)."""

    read_only: bool | None
    secrets: SecretsMode | None
    namespaces_deny: GlobSet | None


@dataclass
class RuleReader:
    fields: Fields
    vocab: Vocabulary
    context: RuleContext

    def read_all(self, node: Node) -> list[CompiledRule]:
        """Every valid rule; problems (including duplicate ids) go to the shared list."""
        if not isinstance(node, SequenceNode):
            self.fields.problems.add(node, "rules must be a list of rules, each starting with '- id: ...'")
            return []
        rules: list[CompiledRule] = []
        first_line: dict[str, int] = {}
        for child in node.value:
            rule = self.read(child)
            if rule is None:
                continue
            if rule.id in first_line:
                self.fields.problems.add(
                    child,
                    f"rule id '{rule.id}' is already used on line {first_line[rule.id]}; ids are unique",
                )
                continue
            first_line[rule.id] = rule.line
            rules.append(rule)
        return rules

    def read(self, node: Node) -> CompiledRule | None:
        mapping = self.fields.mapping(node, "each rule")
        if mapping is None:
            return None
        values = dict(self.fields.keys(mapping, RULE_KEYS, "a rule"))
        problems_before = len(self.fields.problems.items)
        rule_id = self._rule_id(values.get("id"), node)
        effect = self._effect(values.get("effect"), node, rule_id)
        tool_items = self._tools(values["tools"]) if "tools" in values else None
        tools = [
            t
            for t in self.vocab.tools
            if tool_items is None or any(glob_matches(i.value, t) for i in tool_items)
        ]
        verbs = self._verbs(values["verbs"], tools) if "verbs" in values else None
        classes = self._command_classes(values["classes"]) if "classes" in values else None
        resources = self._resources(values["resources"]) if "resources" in values else None
        namespaces = (
            self.fields.namespace_globs(values["namespaces"], "a rule's namespaces")
            if "namespaces" in values
            else None
        )
        texts = {k: self.fields.text(values[k], k) for k in ("reason", "description") if k in values}
        approvers, ttl = self._approval(values, effect, rule_id)
        if len(self.fields.problems.items) != problems_before or rule_id is None or effect is None:
            return None
        if effect in ("allow", "approve"):
            self._check_reachable(rule_id, values, tools, verbs, classes, resources, namespaces)
        return CompiledRule(
            id=rule_id,
            effect=effect_of(effect),
            tools=_compiled(tool_items),
            verbs=_compiled(verbs),
            classes=classes,
            resources=_compiled(resources),
            namespaces=_compiled(namespaces),
            reason=texts.get("reason"),
            description=texts.get("description"),
            line=node.start_mark.line + 1,
            approvers=approvers,
            ttl_seconds=ttl if effect == "approve" else None,
        )

    def _approval(
        self, values: dict[str, Node], effect: str | None, rule_id: str | None
    ) -> tuple[tuple[str, ...], float]:
        """`approvers` and `ttl`: only on an approve rule; ttl is `90s`, `30m`, `2h` or seconds."""
        for key in ("approvers", "ttl"):
            if key in values and effect is not None and effect != "approve":
                self.fields.problems.add(
                    values[key],
                    f"'{key}' belongs to an approve rule; rule '{rule_id or '?'}' has effect {effect}: "
                    f"remove '{key}' or set 'effect: approve'",
                )
        approvers: list[str] = []
        if "approvers" in values:
            for item in self.fields.text_list(values["approvers"], "approvers") or []:
                if _APPROVER.fullmatch(item.value):
                    approvers.append(item.value)
                else:
                    self.fields.problems.add(
                        item.node,
                        "each approver is a principal (letters, digits and . _ @ : / -) or 'group:NAME'",
                    )
        ttl = DEFAULT_APPROVAL_TTL
        if "ttl" in values:
            node = values["ttl"]
            raw = scalar(node) if isinstance(node, ScalarNode) else None
            text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
            found = _TTL.fullmatch(text.strip())
            seconds = int(found.group(1)) * _TTL_UNITS[found.group(2) or "s"] if found else 0
            if not 1 <= seconds <= MAX_APPROVAL_TTL:
                self.fields.problems.add(
                    node,
                    "ttl must be a duration from 1s to 24h, written 90s, 30m, 2h or a number of seconds; "
                    f"found {describe(node)}",
                )
            else:
                ttl = float(seconds)
        return tuple(approvers), ttl

    def _rule_id(self, node: Node | None, rule_node: Node) -> str | None:
        if node is None:
            self.fields.problems.add(
                rule_node, "rule without 'id': every rule needs a stable id, e.g. 'id: allow-reads'"
            )
            return None
        value = self.fields.text(node, "a rule's id")
        if value is None:
            return None
        if not _RULE_ID.fullmatch(value) or value in _RESERVED_IDS:
            self.fields.problems.add(
                node,
                f"rule id '{value}' is not allowed: use letters, digits, '.', '_' and '-' (at most 64), "
                "and not the reserved 'default'",
            )
            return None
        return value

    def _effect(self, node: Node | None, rule_node: Node, rule_id: str | None) -> str | None:
        if node is None:
            self.fields.problems.add(
                rule_node,
                f"rule '{rule_id or '?'}' has no 'effect'; "
                "add 'effect: allow', 'effect: deny' or 'effect: approve'",
            )
            return None
        return self.fields.choice(node, "effect", EFFECTS)

    def _tools(self, node: Node) -> list[Item] | None:
        items = self.fields.globs(node, "tools")
        if items is None:
            return None
        for item in items:
            if not any(glob_matches(item.value, tool) for tool in self.vocab.tools):
                self.fields.problems.add(
                    item.node,
                    f"unknown tool '{item.value}'{did_you_mean(item.value, self.vocab.tools)}; "
                    f"tools are {', '.join(self.vocab.tools)}",
                )
        return items

    def _verbs(self, node: Node, tools: list[str]) -> list[Item] | None:
        items = self.fields.globs(node, "verbs")
        if items is None:
            return None
        known = sorted({verb for tool in tools for verb in self.vocab.tool_verbs.get(tool, ())})
        normalised = []
        for item in items:
            verb = " ".join(item.value.split())
            if not any(glob_matches(verb, candidate) for candidate in known):
                kind = "pattern matches no verb" if is_glob(verb) else "unknown verb"
                self.fields.problems.add(
                    item.node,
                    f"{kind} '{verb}' for {', '.join(tools) or 'no tool'}{did_you_mean(verb, known)}",
                )
            normalised.append(Item(value=verb, node=item.node))
            if not is_glob(verb) and any(candidate.startswith(verb + " ") for candidate in known):
                # a group (`proxy-config`, `rollout`) names every command under it
                normalised.append(Item(value=verb + " *", node=item.node))
        return normalised

    def _command_classes(self, node: Node) -> frozenset[CommandClass] | None:
        items = self.fields.text_list(node, "classes")
        if items is None:
            return None
        for item in items:
            if item.value not in CLASSES:
                self.fields.problems.add(
                    item.node,
                    f"unknown class '{item.value}'{did_you_mean(item.value, CLASSES)}; "
                    f"classes are {', '.join(CLASSES)}",
                )
        return frozenset(CommandClass(i.value) for i in items if i.value in CLASSES)

    def _resources(self, node: Node) -> list[Item] | None:
        items = self.fields.globs(node, "resources")
        if items is None:
            return None
        canonical: list[Item] = []
        for item in items:
            name = item.value
            if is_glob(name):
                # a dotted pattern may target CRDs (`*.example.com`), which no list can confirm
                if "." in name or any(glob_matches(name, r) for r in self.vocab.resources):
                    canonical.append(item)
                    continue
            else:
                resolved = self.vocab.resource_name(name)
                if resolved is not None or "." in name:
                    canonical.append(Item(value=resolved or name, node=item.node))
                    continue
            self.fields.problems.add(
                item.node,
                f"unknown resource '{name}'{did_you_mean(name, self.vocab.resources)}; "
                "use a kubectl resource type, an alias (po, deploy) or a CRD as name.group",
            )
        return canonical

    def _check_reachable(
        self,
        rule_id: str,
        values: dict[str, Node],
        tools: list[str],
        verbs: list[Item] | None,
        rule_classes: frozenset[CommandClass] | None,
        resources: list[Item] | None,
        namespaces: list[Item] | None,
    ) -> None:
        """An allow rule that the built-in guards always override is a contradiction, not a no-op."""
        ctx = self.context
        # declared classes win over the verbs' static classes: the parser may class a command by its
        # resources (`get secrets` is a sensitive read), which the verb alone cannot show
        classes = set(rule_classes) if rule_classes is not None else self._classes(tools, verbs)
        if ctx.read_only and classes:
            readable = {CommandClass.READ, CommandClass.LOCAL}
            if ctx.secrets != "deny":
                readable.add(CommandClass.SENSITIVE_READ)
            if not classes & readable:
                key = "classes" if rule_classes is not None else "verbs"
                self.fields.problems.add(
                    values[key],
                    f"rule '{rule_id}' allows only {key} that read_only: true refuses "
                    f"({', '.join(sorted(classes))}); set read_only: false or remove the rule",
                )
        if ctx.namespaces_deny is not None and namespaces is not None:
            for item in namespaces:
                if not is_glob(item.value) and ctx.namespaces_deny.match(item.value):
                    self.fields.problems.add(
                        item.node,
                        f"rule '{rule_id}' allows namespace '{item.value}', which namespaces.deny refuses "
                        "(deny always wins); remove one of them",
                    )
        only_secrets = resources is not None and {i.value for i in resources} == {"secrets"}
        reads = {CommandClass.READ, CommandClass.SENSITIVE_READ}
        if ctx.secrets == "deny" and only_secrets and classes and classes <= reads:
            self.fields.problems.add(
                values["resources"],
                f"rule '{rule_id}' allows only reading secrets, which secrets: deny refuses; "
                "set secrets: redact or remove the rule",
            )

    def _classes(self, tools: list[str], verbs: list[Item] | None) -> set[CommandClass]:
        """The classes of every (tool, verb) a rule's verb patterns reach; empty when verbs is omitted."""
        if verbs is None:
            return set()
        return {
            self.vocab.verb_class(tool, verb)
            for tool in tools
            for verb in self.vocab.tool_verbs.get(tool, ())
            if any(glob_matches(item.value, verb) for item in verbs)
        }


def _compiled(items: list[Item] | None) -> GlobSet | None:
    return None if items is None else GlobSet.compile(item.value for item in items)


def effect_of(value: str) -> Effect:
    return "allow" if value == "allow" else "approve" if value == "approve" else "deny"
