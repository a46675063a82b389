"""YAML with positions: compose nodes with the safe loader, refuse anchors, aliases and odd tags.

The policy file is a trust boundary, so it is read as a node tree (never constructed into Python
objects by PyYAML) and every value keeps its line and column for error messages.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "bool", "null", "float", "timestamp", "binary", "seq", "map", "set")
)


MAX_DEPTH = 16


class Unreadable:
    """A scalar the safe constructor refuses (bad tag, `!!int abc`): equal to no expected value."""

    def __repr__(self) -> str:
        return "an unreadable value"


def did_you_mean(got: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a close match exists, else an empty string."""
    close = difflib.get_close_matches(got, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class Problems:
    """Collects every problem with its position; rendered sorted by line, then column."""

    source: str
    items: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, where: Node | yaml.Mark | Any, message: str) -> None:
        mark = where.start_mark if isinstance(where, Node) else where
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        self.items.append((line, col, message))

    def rendered(self) -> list[str]:
        return [f"{self.source}:{line}:{col}: {msg}" for line, col, msg in sorted(set(self.items))]

    def __bool__(self) -> bool:
        return bool(self.items)


def compose(text: str, problems: Problems) -> Node | None:
    """The document's root node, or None after recording why it cannot be read."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:  # the composer recurses per level: stop before Python's limit
                    problems.add(event.start_mark, f"nested deeper than {MAX_DEPTH} levels; a policy is flat")
                    return None
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.AliasEvent):
                problems.add(event.start_mark, "aliases (*name) are not allowed; write the value out")
            elif getattr(event, "anchor", None) is not None:
                problems.add(event.start_mark, "anchors (&name) are not allowed; write the value out")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        problems.add(exc.problem_mark or exc.context_mark, f"not valid YAML: {exc.problem or exc.context}")
        return None
    except yaml.YAMLError as exc:  # e.g. several documents in one file
        problems.add(None, f"not valid YAML: {type(exc).__name__}")
        return None
    if root is None:
        problems.add(None, "the policy file is empty; start with 'version: 1'")
        return None
    _check_tags(root, problems)
    return root


def _check_tags(node: Node, problems: Problems) -> None:
    if node.tag not in _STANDARD_TAGS:
        problems.add(node, f"YAML tag {node.tag!r} is not allowed; remove it")
    if isinstance(node, SequenceNode):
        for child in node.value:
            _check_tags(child, problems)
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            _check_tags(key, problems)
            _check_tags(value, problems)


def scalar(node: Node) -> Any:
    """The Python value of a scalar node under the YAML 1.1 safe rules (bool, int, str, None...)."""
    if node.tag not in _STANDARD_TAGS:
        return Unreadable()
    try:
        return SafeConstructor().construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError):
        return Unreadable()


def describe(node: Node) -> str:
    """How a node reads in an error message: 'a list', 'a mapping', 'boolean false', ..."""
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    value = scalar(node)
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()} (quote it if you meant the text {node.value!r})"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, Unreadable):
        return "a value that cannot be read"
    return f"{type(value).__name__} {node.value!r}"


def mapping_items(node: MappingNode, problems: Problems) -> Iterator[tuple[str, Node, Node]]:
    """(key, key node, value node) of a mapping; duplicate and non-text keys are recorded and skipped."""
    seen: set[str] = set()
    for key_node, value_node in node.value:
        key = scalar(key_node) if isinstance(key_node, ScalarNode) else None
        if not isinstance(key, str):
            problems.add(key_node, f"keys must be text, found {describe(key_node)}")
            continue
        if key in seen:
            problems.add(key_node, f"duplicate key '{key}'; keep one")
            continue
        seen.add(key)
        yield key, key_node, value_node
