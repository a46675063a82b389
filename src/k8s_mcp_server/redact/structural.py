"""Structural redaction of one YAML or JSON unit (a document or one item of a List), guided by a parse.

`yaml.compose` (the C loader when present) gives every node its start and end position; secret values
are replaced in place by a quoted placeholder, so keys, structure and all other bytes stay as they were.
JSON is composed as YAML (flow style), which gives the same positions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..contracts import SecretsMode
from . import namebound
from .placeholder import Placeholders, is_placeholder
from .ruleset import ruleset
from .spans import Span, apply_spans

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader with a faster tag resolver: the walk needs only "null or not" of a plain scalar
    (resolving every scalar against the implicit-type regexes was a third of the compose time)."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0]:
            return _NULL_TAG if value in _NULLS else _STR_TAG
        result: str = super().resolve(kind, value, implicit)
        return result


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HELM_RELEASE_TYPE = "helm.sh/release.v1"
DOCKER_KEYS = frozenset({".dockerconfigjson", ".dockercfg"})
KUBECONFIG_KEYS = frozenset({"token", "password", "client-key-data"})
SECRET_NAME_RE = re.compile(
    r"(?i)(passw|pwd|token|secret|key|credential|private|auth|cert|salt|dsn|conn(ection)?_?str)"
)
_PATHLIKE_NAME = re.compile(r"(?i)_(file|path|dir)$")
_NULL_TAG = "tag:yaml.org,2002:null"
_ANCHOR = re.compile(r"&[^\s\[\]{},]{1,256}[ \t]+")


class UnparsableError(Exception):
    """The unit is not YAML/JSON the composer understands (the caller then over-redacts it)."""


@dataclass
class _Walk:
    text: str
    base: int
    secrets: SecretsMode
    ph: Placeholders
    spans: list[Span] = field(default_factory=list)

    def redact(self, node: Node, rule: str) -> None:
        if isinstance(node, ScalarNode):
            if node.value == "" or node.tag == _NULL_TAG or is_placeholder(node.value):
                return
            value = node.value
        else:
            value = self.text[node.start_mark.index : node.end_mark.index]
        start, end = node.start_mark.index, node.end_mark.index
        source = self.text[start:end]
        trailing = source[len(source.rstrip()) :]
        anchor = _ANCHOR.match(source)  # keep `&name ` so aliases of the value still resolve
        lead = anchor.group() if anchor else ""
        replacement = lead + '"' + self.ph.make(rule, value) + '"' + trailing
        self.spans.append(
            Span(start=self.base + start, end=self.base + end, rule=rule, replacement=replacement)
        )


def compose(text: str) -> Node | None:
    """Compose one YAML/JSON document; raise UnparsableError when it is not one."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise UnparsableError(type(exc).__name__) from None


def unit_spans(text: str, base: int, *, secrets: SecretsMode, ph: Placeholders) -> list[Span]:
    """Spans (offset by `base`) that redact the secret values of the one document in `text`."""
    root = compose(text)
    walk = _Walk(text=text, base=base, secrets=secrets, ph=ph)
    if root is not None:
        _visit(root, walk, depth=0)
    return walk.spans


def _fields(node: MappingNode) -> dict[str, Node]:
    return {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}


def _scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _visit(node: Node, walk: _Walk, depth: int) -> None:
    if depth > 200:
        raise UnparsableError("nesting too deep")
    if isinstance(node, SequenceNode):
        if node.value and all(_env_shaped(child) for child in node.value):
            _env(node, walk, every_value=False)  # an env list printed without its `env:` key
        for child in node.value:
            _visit(child, walk, depth + 1)
        return
    if not isinstance(node, MappingNode):
        return
    fields = _fields(node)
    if _scalar(fields.get("kind")) == "Secret" and walk.secrets != "allow":
        _secret(fields, walk)
    users = fields.get("users")
    if isinstance(users, SequenceNode):
        for entry in users.value:
            user = _fields(entry).get("user") if isinstance(entry, MappingNode) else None
            if isinstance(user, MappingNode):
                _kubeconfig_user(user, walk)
    env = fields.get("env")
    if isinstance(env, SequenceNode):
        _env(env, walk, every_value=False)
    applied = fields.get(LAST_APPLIED)
    if isinstance(applied, ScalarNode):
        _last_applied(applied, walk)
    for _key, child in node.value:
        if child is not applied:
            _visit(child, walk, depth + 1)


def _env_shaped(node: Node) -> bool:
    if not isinstance(node, MappingNode):
        return False
    fields = _fields(node)
    return isinstance(fields.get("name"), ScalarNode) and ("value" in fields or "valueFrom" in fields)


def _secret(fields: dict[str, Node], walk: _Walk) -> None:
    helm = _scalar(fields.get("type")) == HELM_RELEASE_TYPE
    for section in ("data", "stringData"):
        values = fields.get(section)
        if values is None:
            continue
        if not isinstance(values, MappingNode):
            walk.redact(values, "secret-data")
            continue
        for key_node, value in values.value:
            key = _scalar(key_node) or ""
            if helm and key == "release":
                rule = "helm-release"
            elif key in DOCKER_KEYS:
                rule = "docker-config"
            else:
                rule = "secret-data"
            walk.redact(value, rule)


def _kubeconfig_user(user: MappingNode, walk: _Walk) -> None:
    for key_node, value in user.value:
        key = _scalar(key_node) or ""
        if key in KUBECONFIG_KEYS:
            walk.redact(value, "kubeconfig-credential")
        elif key == "auth-provider" and isinstance(value, MappingNode):
            config = _fields(value).get("config")
            if isinstance(config, MappingNode):
                for ck, cv in config.value:
                    if SECRET_NAME_RE.search(_scalar(ck) or ""):
                        walk.redact(cv, "kubeconfig-credential")
        elif key == "exec" and isinstance(value, MappingNode):
            env = _fields(value).get("env")
            if isinstance(env, SequenceNode):
                _env(env, walk, every_value=True)


def _env(env: SequenceNode, walk: _Walk, *, every_value: bool) -> None:
    for entry in env.value:
        if not isinstance(entry, MappingNode):
            continue
        fields = _fields(entry)
        name = _scalar(fields.get("name")) or ""
        value = fields.get("value")
        if value is None:
            continue
        if every_value:
            walk.redact(value, "kubeconfig-credential")
        elif SECRET_NAME_RE.search(name) and not _PATHLIKE_NAME.search(name):
            walk.redact(value, "secret-env")


def _last_applied(node: ScalarNode, walk: _Walk) -> None:
    inner_text: str = node.value
    inner = _Walk(text=inner_text, base=0, secrets=walk.secrets, ph=walk.ph)
    try:
        root = compose(inner_text)
        if root is not None:
            _visit(root, inner, depth=0)
    except UnparsableError:
        if needs_parse(inner_text):
            walk.redact(node, "secret-data")
        return
    if not inner.spans:
        return
    counts: dict[str, int] = {}
    redacted = apply_spans(inner_text, inner.spans, counts)
    start, end = node.start_mark.index, node.end_mark.index
    source = walk.text[start:end]
    trailing = source[len(source.rstrip()) :]
    replacement = json.dumps(redacted, ensure_ascii=False) + trailing
    walk.spans.append(
        Span(
            start=walk.base + start,
            end=walk.base + end,
            rule="secret-data",
            replacement=replacement,
            tally=tuple(sorted(counts.items())),
        )
    )


# no leading \b: a pattern that starts with a literal is searched at memchr speed, `\b` made it 20x slower
_VALUE_KEY = re.compile(r"""value["']?[ \t]*:""")
_ENV_NAME = re.compile(r"""name["']?[ \t]*:[ \t]*["']?([A-Za-z0-9_.-]{1,256})""")


# `kind: Secret` in YAML, JSON, or JSON inside a string (last-applied-configuration); not imagePullSecrets
_SECRET_KIND = re.compile(r"""kind\\?["']?[ \t]{0,16}:[ \t]{0,16}\\?["']?Secret(?![A-Za-z])""")


def needs_parse(text: str) -> bool:
    """The prefilter: could `text` hold anything the structural rules redact?"""
    if ("Secret" in text and _SECRET_KIND.search(text)) or "users" in text:
        return True
    if "value" not in text:  # not "env": a jq/jsonpath selection prints the env list without its key
        return False
    # From each `value` key (few: literal env values) to the env names around it: the entry's name is
    # the nearest `name` before it, or after it in the same list item (jq may print value first).
    for value in _VALUE_KEY.finditer(text):
        if value.start() and (text[value.start() - 1].isalnum() or text[value.start() - 1] == "_"):
            continue  # `defaultValue:` is not an env value
        before = _name_before(text, value.start())
        if before is False:
            return True  # no name within reach: parse, to be safe
        after = _ENV_NAME.search(text, value.end())
        for name in (before, after):
            if name is None or not _risky_name(name.group(1)):
                continue
            if name is after:
                floor = before.end() if before is not None else 0
                start = max(
                    floor, text.rfind("- ", floor, name.start()), text.rfind("{", floor, name.start())
                )
                if value.start() < start:
                    continue
            if not _text_rule_reads(text, name):
                return True
    return False


_NAME_REACH = 4096


def _name_before(text: str, pos: int) -> re.Match[str] | Literal[False] | None:
    """The last `name:` key that ends before `pos`, None if there is none, False if the nearest one
    is too far back to look for (cost stays linear: each look is bounded)."""
    floor = max(0, pos - _NAME_REACH)
    at = text.rfind("name", floor, pos)
    while at >= 0:
        match = _ENV_NAME.match(text, at)
        if match is not None and match.end() <= pos:
            return match
        at = text.rfind("name", floor, at)
    return None if floor == 0 else False


def _risky_name(name: str) -> bool:
    return bool(SECRET_NAME_RE.search(name)) and not _PATHLIKE_NAME.search(name)


def _text_rule_reads(text: str, name: re.Match[str]) -> bool:
    """True when the text pass's `secret-env` rule redacts this env entry's value (kubectl's own layout:
    `value` right after `name`, and a name that rule judges secret), so it needs no parse."""
    if not namebound.secret_name(name.group(1)):
        return False
    match = ruleset().by_id["secret-env"].regex.match(text, name.start())
    if match is None or match.group("envname") != name.group(1):
        return False
    return "\n" in text[name.end() : match.start("q")] or match.group("eq") is not None  # not flow style
