"""Command-aware redaction of what a template prints (see parse/templates.py for which ones may run).

A template that may run over a Secret prints only value-free fields; one over other kinds can still
name a secret-looking field, an `env` list or use recursive descent: its output is over-redacted
(`secret-field`). Filters after `|` need nothing here: they only ever see redacted objects.
"""

from __future__ import annotations

import re

from ..contracts import CommandClass, ParsedCommand
from ..parse.templates import template_of, value_free

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


def must_over_redact(parsed: ParsedCommand) -> bool:
    """For a Secret read: whether the output must be over-redacted token by token (a template that
    is not provably value-free; the policy refuses those before they run, this is the second line)."""
    found = template_of(parsed)
    return found is not None and not value_free(*found)


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
