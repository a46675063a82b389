"""Pattern rules: credentials recognisable by their shape in any text (tables, logs, stderr, YAML).

The rules are data, `rules/*.yaml`, loaded and compiled by `ruleset` and shared with the audit log
(`audit.secrets`): one rule set for responses and audit records alike. This module is the text pass's
view of it.
"""

from __future__ import annotations

from .ruleset import VALUE_GROUPS, fold, ruleset, value_span

__all__ = ["VALUE_GROUPS", "any_rule_matches", "fold", "pattern_spans", "value_span"]


def pattern_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, rule id) of every secret part the rules find in `text`."""
    return ruleset().spans(text)


def any_rule_matches(text: str) -> bool:
    """True when some rule finds a credential in `text` (used on decoded base64)."""
    return ruleset().any_match(text)
