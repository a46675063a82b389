"""A YAML reader narrowed to what a kubeconfig needs: one document of maps, lists, strings and booleans.

It builds values straight from the parser's events (libyaml's when available: adversarial input at
the 256 KiB cap takes about 0.1 s, against about 1 s through PyYAML's pure-Python composer), so
nothing is ever constructed from a tag.

Refused: anchors and aliases (alias bombs), duplicate keys, non-string keys, explicit tags other than
`!!str`, `!!map`, `!!seq`, nesting deeper than `MAX_DEPTH` and more than `MAX_NODES` values. Plain
scalars resolve only to null, bool or str (no int/float/timestamp): every kubeconfig field is a string
or a bool, and `name: 123` stays "123" as it does for kubectl. `<<` is an ordinary key (no merging),
which the schema then refuses as unknown. Messages carry a line and column, never the offending text
(it may sit on the same line as a token).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import BaseResolver, Resolver

from k8s_mcp_server.errors import KubeconfigError

MAX_DEPTH = 64
MAX_NODES = 50_000
_BOOL, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_EXPLICIT_TAGS = frozenset({"!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_Loader: type[Any] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class _Refused(yaml.MarkedYAMLError):
    pass


class _Resolver(BaseResolver):
    pass


for _first, _entries in Resolver.yaml_implicit_resolvers.items():
    for _tag, _regexp in _entries:
        if _tag in (_BOOL, _NULL):
            _Resolver.add_implicit_resolver(_tag, _regexp, [_first])
_RESOLVER = _Resolver()


def _scalar(event: yaml.ScalarEvent) -> object:
    if not event.implicit[0]:  # quoted, or tagged !!str or !
        return event.value
    tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, (True, False))  # type: ignore[no-untyped-call]
    if tag == _BOOL:
        return SafeConstructor.bool_values[event.value.lower()]
    return None if tag == _NULL else event.value


def _refuse(problem: str, event: Any) -> _Refused:
    return _Refused(problem=problem, problem_mark=event.start_mark)


class _Builder:
    """Folds a stream of events into plain dicts, lists, strings, booleans and None."""

    def __init__(self) -> None:
        self.stack: list[tuple[dict[str, Any] | list[Any], list[str]]] = []  # container, pending key
        self.nodes = 0
        self.documents = 0
        self.root: object = None

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _refuse("the kubeconfig must be a single YAML document (no second ---)", event)
        elif isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _refuse("YAML anchors and aliases (& and *) are not allowed", event)
        elif isinstance(event, yaml.NodeEvent):
            self._node(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            container, _ = self.stack.pop()
            self._place(container, event)

    def _node(self, event: yaml.NodeEvent) -> None:
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _EXPLICIT_TAGS:
            raise _refuse(
                "only plain YAML values are allowed (no tags such as !!binary or !!python/...)", event
            )
        self.nodes += 1
        if self.nodes > MAX_NODES or len(self.stack) >= MAX_DEPTH:
            raise _refuse(
                f"the document is too large or too deeply nested "
                f"(over {MAX_NODES} values or {MAX_DEPTH} levels)",
                event,
            )
        if isinstance(event, yaml.ScalarEvent):
            self._place(_scalar(event), event)
            return
        if self.stack and isinstance(self.stack[-1][0], dict) and not self.stack[-1][1]:
            raise _refuse("mapping keys must be strings", event)
        self.stack.append(({} if isinstance(event, yaml.MappingStartEvent) else [], []))

    def _place(self, value: object, event: yaml.Event) -> None:
        if not self.stack:
            self.root = value
            return
        container, pending = self.stack[-1]
        if isinstance(container, list):
            container.append(value)
        elif pending:
            container[pending.pop()] = value
        elif not isinstance(value, str):
            raise _refuse("mapping keys must be strings", event)
        elif value in container:
            raise _refuse(f"duplicate key {value[:40]!r}", event)
        else:
            pending.append(value)


def load_yaml(text: str) -> object:
    """Parse one YAML (or JSON) document; every failure is a `KubeconfigError` (invalid_kubeconfig)."""
    loader: Any = None
    builder = _Builder()
    try:
        loader = _Loader(text)
        while loader.check_event():
            builder.feed(loader.get_event())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = "; ".join(part for part in (exc.context, exc.problem) if part)[:160] or "syntax error"
        raise KubeconfigError(f"the kubeconfig is not valid YAML{where}: {problem}") from None
    except (yaml.YAMLError, UnicodeError):
        raise KubeconfigError(
            "the kubeconfig is not valid YAML: it contains control characters YAML does not allow"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return builder.root
