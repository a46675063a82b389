"""The parser's vocabulary, seen from the policy: which tools, verbs, resources, filters and flags exist.

Imported lazily so `k8s_mcp_server.policy` can be imported without pulling the parser in at import
time; the parser stays the single source of truth for names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from k8s_mcp_server.contracts import TOOLS, CommandClass


@dataclass(frozen=True, kw_only=True)
class Vocabulary:
    """The closed vocabulary a policy file is validated against."""

    tools: tuple[str, ...]
    tool_verbs: Mapping[str, frozenset[str]]
    resources: frozenset[str]
    canonical_resource: Callable[[str], str]
    guarded_flags: Mapping[str, frozenset[str]]
    filters: frozenset[str]
    verb_class: Callable[[str, str], CommandClass]

    def resource_name(self, name: str) -> str | None:
        """The canonical name of a resource or alias, or None when it is not a known kubectl resource."""
        try:
            canonical = self.canonical_resource(name)
        except (KeyError, ValueError):
            return None
        return canonical if canonical in self.resources else None

    def all_guarded_flags(self) -> frozenset[str]:
        return frozenset(flag.lstrip("-") for flags in self.guarded_flags.values() for flag in flags)


@cache
def parser_vocabulary() -> Vocabulary:
    """The vocabulary of `k8s_mcp_server.parse.vocabulary` (imported on first use)."""
    from k8s_mcp_server.parse.vocabulary import (
        FILTERS,
        GUARDED_FLAGS,
        RESOURCES,
        TOOL_VERBS,
        canonical_resource,
        verb_class,
    )

    return Vocabulary(
        tools=TOOLS,
        tool_verbs=TOOL_VERBS,
        resources=RESOURCES,
        canonical_resource=canonical_resource,
        guarded_flags=GUARDED_FLAGS,
        filters=FILTERS,
        verb_class=verb_class,
    )
