"""Split kubectl YAML/JSON output into units that parse on their own: documents, and List items.

Parsing 20 MB of YAML takes far longer than kubectl takes to print it, so only units that pass the
structural prefilter are parsed. A List's items are cut at the lines where kubectl starts them (`- ` at
column 0 after `items:`; `        {` after `    "items": [` in JSON). If the cut does not hold, the whole
document is one unit, which is slower but never less safe.
"""

from __future__ import annotations

import re

_DOC_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.M)
_YAML_ITEMS = re.compile(r"^items:[ \t]*\r?\n(?=- )", re.M)
_COLUMN_ZERO = re.compile(r"\n(?=[^ \t\r\n])")
_JSON_ITEMS = '\n    "items": [\n'
_JSON_ITEM_START = "\n        {\n"
_JSON_ITEM_END = "\n        }"


# `helm get values` prints a header line before the YAML (`USER-SUPPLIED VALUES:`, `COMPUTED VALUES:`)
_HELM_HEADERS = frozenset({"USER-SUPPLIED VALUES:", "COMPUTED VALUES:"})
# `kubectl describe` aligns its fields in columns (`Name:         x`); kubectl's YAML has one space
_DESCRIBE_FIELD = re.compile(r"[A-Z][\w -]{0,63}:[ \t]{2,}\S")


def output_kind(text: str) -> str:
    """'json', 'yaml' or 'text': what the output looks like from its first meaningful line."""
    head = text.lstrip()[:2048]
    if head.startswith(("{", "[")):
        return "json"
    for line in head.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in _HELM_HEADERS:
            continue
        if _DESCRIBE_FIELD.match(line):
            return "text"
        if stripped == "---" or stripped.startswith("- ") or re.match(r"^[\w.\"'/-]{1,253}:(\s|$)", line):
            return "yaml"
        return "text"
    return "text"


def documents(text: str) -> list[tuple[int, int]]:
    """(start, end) of each YAML document of a stream; each range starts at its `---` line, if any."""
    # `str.find` for "\n---" instead of a multiline regex: the regex tries every line start (~10x slower)
    starts: list[int] = []
    pos = text.find("\n---")
    while pos >= 0:
        if _DOC_START.match(text, pos + 1):
            starts.append(pos + 1)
        pos = text.find("\n---", pos + 4)
    bounds = [0, *starts, len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i + 1] > bounds[i]]


def yaml_items(text: str, start: int, end: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
    """Item ranges of a YAML List document and the ranges around them, or None when it is not one."""
    match = _YAML_ITEMS.search(text, start, end)
    if match is None:
        return None
    first = match.end()
    items: list[tuple[int, int]] = []
    item_start = first
    for col0 in _COLUMN_ZERO.finditer(text, first, end):
        line = col0.start() + 1
        items.append((item_start, line))
        if not text.startswith("- ", line):
            return items, [(start, first), (line, end)]
        item_start = line
    items.append((item_start, end))
    return items, [(start, first)]


def json_items(text: str, start: int, end: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
    """Item ranges of kubectl's indented JSON List and the envelope around them, or None."""
    head = text.find(_JSON_ITEMS, start, end)
    if head < 0:
        return None
    pos = head + len(_JSON_ITEMS) - 1
    items: list[tuple[int, int]] = []
    while text.startswith(_JSON_ITEM_START, pos):
        close = text.find(_JSON_ITEM_END, pos + 1, end)
        if close < 0:
            return None
        item_end = close + len(_JSON_ITEM_END)
        items.append((pos + 1, item_end))
        pos = item_end + 1 if text.startswith(",", item_end) else item_end
    if not items:
        return None
    return items, [(start, items[0][0]), (items[-1][1], end)]
