"""Over-redaction when structure cannot be trusted: fail closed, keep only what is provably not a value.

Used for a unit that smelled of secrets but did not parse (truncated output, odd formatting), and for
output of a Secret read whose format is not YAML/JSON the structural pass understands (jsonpath,
go-template, custom-columns, or anything after a `|` filter).
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from .placeholder import Placeholders, is_placeholder

_TOKEN = re.compile(r"\S{1,65536}")
_STRUCTURE = frozenset("{}[](),:-|>\"'")
_KEY = re.compile(
    r"""^(?:-[ \t]+)*(?:"[^"\n]{0,256}"|'[^'\n]{0,256}'|[^\s"'#:][^:\n]{0,255}?)[ \t]*:(?=[ \t]|$)"""
)


def _is_structure(token: str) -> bool:
    return all(c in _STRUCTURE for c in token)


def redact_tokens(text: str, ph: Placeholders, counts: MutableMapping[str, int], rule: str) -> str:
    """Replace every whitespace-separated token but placeholders, punctuation included: tokens made
    only of punctuation are as able to spell a value as any other (one symbol per digit)."""

    def sub(match: re.Match[str]) -> str:
        token = match.group()
        if is_placeholder(token):
            return token
        counts[rule] = counts.get(rule, 0) + 1
        return ph.make(rule, token)

    return _TOKEN.sub(sub, text)


def redact_values(text: str, ph: Placeholders, counts: MutableMapping[str, int], rule: str) -> str:
    """Keep mapping keys and indentation of YAML/JSON-like lines; replace every value by a placeholder."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        indent = len(body) - len(body.lstrip(" \t"))
        key = _KEY.match(body, indent)
        head_end = key.end() if key else indent
        while body.startswith("- ", head_end):
            head_end += 2
        value = body[head_end:].strip()
        comma = "," if value.endswith(",") else ""
        value = value.removesuffix(",").strip()
        if not value or _is_structure(value) or is_placeholder(value.strip("\"'")) or value in ("{}", "[]"):
            out.append(line)
            continue
        counts[rule] = counts.get(rule, 0) + 1
        spacer = " " if key else ""
        out.append(body[:head_end].rstrip(" \t") + spacer + '"' + ph.make(rule, value) + '"' + comma + ending)
    return "".join(out)
