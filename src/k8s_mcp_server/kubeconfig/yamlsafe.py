"""A YAML loader narrowed to what a kubeconfig needs: one document of maps, lists, strings and booleans.

Refused: anchors and aliases (alias bombs), duplicate keys, non-string keys, explicit
tags other than the core ones, nesting deeper than `MAX_DEPTH` and more than `MAX_NODES` nodes. Plain
scalars resolve only to null, bool or str (no int/float/timestamp): every kubeconfig field is a string
or a bool, and `name: 123` stays the string "123" as it does for kubectl. `<<` is an ordinary key
(no merging), which the schema then refuses as unknown. Error messages carry a line
and column, never the offending text (it may sit on the same line as a token).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver, Resolver
from yaml.scanner import Scanner

from k8s_mcp_server.errors import KubeconfigError

MAX_DEPTH = 64
MAX_NODES = 50_000
_STR, _BOOL, _NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_ALLOWED_TAGS = frozenset({_STR, _BOOL, _NULL, "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})


class _Refused(yaml.MarkedYAMLError):
    pass


class _Resolver(BaseResolver):
    pass


for _first, _entries in Resolver.yaml_implicit_resolvers.items():
    for _tag, _regexp in _entries:
        if _tag in (_BOOL, _NULL):
            _Resolver.add_implicit_resolver(_tag, _regexp, [_first])


class _Loader(Reader, Scanner, Parser, Composer, SafeConstructor, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                problem="YAML anchors and aliases (& and *) are not allowed", problem_mark=event.start_mark
            )
        self._nodes += 1
        if self._nodes > MAX_NODES or self._depth >= MAX_DEPTH:
            raise _Refused(
                problem=f"the document is too large or too deeply nested (over {MAX_NODES} nodes "
                f"or {MAX_DEPTH} levels)",
                problem_mark=event.start_mark,
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None and node.tag not in _ALLOWED_TAGS:
            raise _Refused(
                problem="only plain YAML values are allowed (no tags such as !!binary or !!python/...)",
                problem_mark=node.start_mark,
            )
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise _Refused(problem="mapping keys must be strings", problem_mark=key_node.start_mark)
            if key in mapping:
                raise _Refused(problem=f"duplicate key {_short(key)}", problem_mark=key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def _short(key: str) -> str:
    return repr(key) if len(key) <= 40 else repr(key[:40] + "…")


def load_yaml(text: str) -> object:
    """Parse one YAML (or JSON) document; every failure is a `KubeconfigError` (invalid_kubeconfig)."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = "; ".join(part for part in (exc.context, exc.problem) if part)[:160] or "syntax error"
        raise KubeconfigError(f"the kubeconfig is not valid YAML{where}: {problem}") from None
    except yaml.YAMLError:
        raise KubeconfigError(
            "the kubeconfig is not valid YAML: it contains control characters YAML does not allow"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
