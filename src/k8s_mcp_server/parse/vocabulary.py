"""The closed vocabulary the policy validator checks a policy file against.

Verb paths include intermediate levels (`rollout`, `proxy-config`, `app`) so a policy may name a
group; their class is the children's common class, or UNKNOWN when the children differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from k8s_mcp_server.contracts import CommandClass
from k8s_mcp_server.parse.filters import FILTERS
from k8s_mcp_server.parse.resources import RESOURCES, canonical_resource
from k8s_mcp_server.parse.tools import EXTRA_GUARDED, SPECS

__all__ = ["FILTERS", "GUARDED_FLAGS", "RESOURCES", "TOOL_VERBS", "canonical_resource", "verb_class"]


def _paths(verbs: Mapping[str, CommandClass]) -> frozenset[str]:
    out: set[str] = set()
    for path in verbs:
        words = path.split(" ")
        out.update(" ".join(words[: d + 1]) for d in range(len(words)))
    return frozenset(out)


TOOL_VERBS: Mapping[str, frozenset[str]] = MappingProxyType(
    {tool: _paths(spec.verbs) for tool, spec in SPECS.items()}
)


def _guarded(tool: str) -> frozenset[str]:
    spec = SPECS[tool]
    tables = [spec.global_flags, spec.common_flags, *spec.verb_flags.values()]
    names = {flag.name for t in tables for flag in t.long.values() if flag.guarded}
    return frozenset(names | EXTRA_GUARDED[tool])


GUARDED_FLAGS: Mapping[str, frozenset[str]] = MappingProxyType({tool: _guarded(tool) for tool in SPECS})


def verb_class(tool: str, verb: str) -> CommandClass:
    """The class of `verb` (a canonical verb path) for `tool`; UNKNOWN when unknown or mixed."""
    spec = SPECS.get(tool)
    if spec is None:
        return CommandClass.UNKNOWN
    if verb in spec.verbs:
        return spec.verbs[verb]
    below = {cls for path, cls in spec.verbs.items() if path.startswith(verb + " ")}
    return below.pop() if len(below) == 1 else CommandClass.UNKNOWN
