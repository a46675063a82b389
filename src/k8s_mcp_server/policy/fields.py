"""Typed readers for policy values: each records a positioned problem and returns None when wrong."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from k8s_mcp_server.policy.globs import glob_problem, is_glob
from k8s_mcp_server.policy.yamlnodes import Problems, describe, did_you_mean, mapping_items, scalar

_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_NAMESPACE_GLOB = re.compile(r"[-a-z0-9*?\[\]!]{1,63}")


@dataclass(frozen=True, kw_only=True)
class Item:
    """One string in a list, with the node it came from (for positions)."""

    value: str
    node: Node


@dataclass
class Fields:
    """Readers bound to one problem list."""

    problems: Problems

    def keys(self, node: MappingNode, allowed: Iterable[str], where: str) -> Iterator[tuple[str, Node]]:
        """(key, value node) pairs; unknown keys are recorded with a did-you-mean and skipped."""
        choices = tuple(allowed)
        for key, key_node, value in mapping_items(node, self.problems):
            if key in choices:
                yield key, value
            else:
                self.problems.add(
                    key_node,
                    f"unknown key '{key}' in {where}{did_you_mean(key, choices)}; "
                    f"allowed keys: {', '.join(choices)}",
                )

    def mapping(self, node: Node, what: str) -> MappingNode | None:
        if isinstance(node, MappingNode):
            return node
        self.problems.add(node, f"{what} must be a mapping, found {describe(node)}")
        return None

    def text(self, node: Node, what: str) -> str | None:
        value = scalar(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, str) and value.strip():
            return value
        self.problems.add(node, f"{what} must be non-empty text, found {describe(node)}")
        return None

    def boolean(self, node: Node, what: str) -> bool | None:
        value = scalar(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, bool):
            return value
        self.problems.add(node, f"{what} must be true or false, found {describe(node)}")
        return None

    def choice(self, node: Node, what: str, choices: tuple[str, ...]) -> str | None:
        value = scalar(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, str) and value in choices:
            return value
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        self.problems.add(node, f"{what} must be one of {', '.join(choices)}, found {describe(node)}{hint}")
        return None

    def text_list(self, node: Node, what: str) -> list[Item] | None:
        """A list of distinct non-empty strings; a duplicate is a problem (it hides a typo or a merge)."""
        if not isinstance(node, SequenceNode):
            self.problems.add(node, f"{what} must be a list, e.g. [a, b]; found {describe(node)}")
            return None
        items: list[Item] = []
        seen: set[str] = set()
        for child in node.value:
            value = self.text(child, f"each entry of {what}")
            if value is None:
                continue
            if value in seen:
                self.problems.add(child, f"'{value}' is listed twice in {what}; keep one")
                continue
            seen.add(value)
            items.append(Item(value=value, node=child))
        return items

    def globs(self, node: Node, what: str) -> list[Item] | None:
        """A list of well-formed glob patterns."""
        items = self.text_list(node, what)
        if items is None:
            return None
        good = []
        for item in items:
            problem = glob_problem(item.value)
            if problem:
                self.problems.add(item.node, f"bad glob in {what}: {problem}")
            else:
                good.append(item)
        return good

    def namespace_globs(self, node: Node, what: str) -> list[Item] | None:
        """Globs over namespace names: lower-case DNS labels, or patterns made of their characters."""
        items = self.globs(node, what)
        if items is None:
            return None
        good = []
        for item in items:
            pattern = item.value
            valid = _NAMESPACE_GLOB.fullmatch(pattern) if is_glob(pattern) else _NAMESPACE.fullmatch(pattern)
            if valid:
                good.append(item)
                continue
            hint = f" (did you mean '{pattern.lower()}'?)" if pattern.lower() != pattern else ""
            self.problems.add(
                item.node,
                f"'{pattern}' in {what} is not a namespace name or pattern: use lower-case letters, "
                f"digits, '-' and the globs '*', '?', '[...]', at most 63 characters{hint}",
            )
        return good
