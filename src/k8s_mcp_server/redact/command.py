"""Command-aware redaction: what a Secret read prints outside YAML/JSON cannot be parsed, so it is
over-redacted unless the requested fields are provably not values.

A template that prints bare values can leak outside Secrets too: `{.data.password}` of a ConfigMap,
`{..value}` or `{.spec.containers[*].env}` of a workload. Templates that name a secret-looking field,
an `env` list or use recursive descent are over-redacted whatever the resource (`secret-field`).
"""

from __future__ import annotations

import re

from ..contracts import CommandClass, ParsedCommand

_SAFE_FIELDS = (".kind", ".apiVersion", ".type", ".immutable")
_SAFE_METADATA = (
    ".metadata.name",
    ".metadata.namespace",
    ".metadata.labels",
    ".metadata.creationTimestamp",
    ".metadata.uid",
    ".metadata.resourceVersion",
    ".metadata.ownerReferences",
)
_ITEMS_PREFIX = re.compile(r"^\.items(?:\[[0-9*:]{0,16}\])?")
_ACTION = re.compile(r"\{([^{}]{0,1024})\}")
_STRING = re.compile(r'"(?:[^"\\]|\\.){0,256}"')
_VALUE_FORMATS = ("jsonpath", "go-template", "template", "custom-columns")
# a field name that looks secret, an env list, or recursive descent (`..`, go-template has no such thing)
_RISKY_TEMPLATE = re.compile(
    r"(?i)\.\.|\benv\b|passw|pwd|token|secret|key|credential|private|auth|cert|salt|dsn|conn(?:ection)?_?str"
)


def reads_secrets(parsed: ParsedCommand | None) -> bool:
    """True when the command reads Secret objects (their values may be in the output)."""
    return (
        parsed is not None
        and (parsed.command_class is CommandClass.SENSITIVE_READ or parsed.prints_objects)
        and any(r.split(".", 1)[0] == "secrets" for r in parsed.resources)
    )


def _safe_path(path: str) -> bool:
    rest = _ITEMS_PREFIX.sub("", path, count=1)
    if any(c in rest for c in "?@*") or ".." in rest or "[" in rest:
        return False
    return rest in _SAFE_FIELDS or any(rest == p or rest.startswith(p + ".") for p in _SAFE_METADATA)


def _safe_jsonpath(template: str) -> bool:
    actions = _ACTION.findall(template)
    if not actions or _ACTION.sub("", template).count("{") or "}" in _ACTION.sub("", template):
        return False
    for raw in actions:
        action = _STRING.sub("", raw).strip()
        if action in ("", "end"):
            continue
        if action.startswith("range "):
            target = action.removeprefix("range ").strip()
            if _ITEMS_PREFIX.sub("", target, count=1) != "":
                return False
            continue
        if not all(_safe_path(part) for part in action.split()):
            return False
    return True


def _safe_custom_columns(spec: str) -> bool:
    for column in spec.split(","):
        _header, sep, path = column.partition(":")
        if not sep or not _safe_path(path.strip()):
            return False
    return True


def must_over_redact(parsed: ParsedCommand) -> bool:
    """For a Secret read: whether the output must be over-redacted token by token."""
    fmt = (parsed.output_format or "").strip()
    family, _sep, arg = fmt.partition("=")
    family = family.strip().lower()
    arg = arg.strip().strip("'\"")
    if family.startswith(_VALUE_FORMATS):
        if family == "jsonpath" and arg:
            return not _safe_jsonpath(arg)
        if family == "custom-columns" and arg:
            return not _safe_custom_columns(arg)
        return True
    return bool(parsed.filters) and family in ("yaml", "json")


def template_of(parsed: ParsedCommand) -> tuple[str, str] | None:
    """(format family, template) when the command prints bare values with a template, else None."""
    fmt = (parsed.output_format or "").strip()
    family, _sep, arg = fmt.partition("=")
    family = family.strip().lower()
    if not family.startswith(_VALUE_FORMATS):
        return None
    return family, arg.strip().strip("'\"")


def prints_risky_fields(parsed: ParsedCommand | None) -> bool:
    """True when a template prints fields that may hold secrets, whatever resource it reads."""
    if parsed is None:
        return False
    found = template_of(parsed)
    if found is None:
        return False
    family, template = found
    if family.startswith("custom-columns"):
        template = ",".join(col.partition(":")[2] for col in template.split(","))
    return _RISKY_TEMPLATE.search(template) is not None
