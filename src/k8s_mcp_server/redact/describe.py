"""`kubectl describe` prints ConfigMap (and Secret) data as `key:` / `----` / value lines, so the key and
its value never share a line and no keyword pattern can pair them. A value whose key looks secret (the
name-bound judgement of `namebound`: `token-ttl: 3600s` or `secretName: x` are not secrets) is replaced
whole (`secret-field`), up to the next entry or section. Nothing else of the output is touched."""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from .namebound import plausible_value, secret_name
from .placeholder import Placeholders, is_placeholder

MARKER = ":\n----\n"
_ENTRY = re.compile(r"^([^\s:][^\n]{0,252}):\n----\n", re.M)
_BINARY = re.compile(r"^BinaryData\n====\n", re.M)
_EVENTS = re.compile(r"^Events:", re.M)


def redact_describe_data(text: str, ph: Placeholders, counts: MutableMapping[str, int]) -> str:
    """Replace the values of describe's data entries whose keys look secret."""
    if MARKER not in text:
        return text
    entries = list(_ENTRY.finditer(text))
    parts: list[str] = []
    pos = 0
    for i, entry in enumerate(entries):
        if not secret_name(entry.group(1)):
            continue
        start = entry.end()
        end = entries[i + 1].start() if i + 1 < len(entries) else len(text)
        # the last section start, not the first: a value may itself hold a line reading "BinaryData"
        for section in (_BINARY, _EVENTS):
            found = list(section.finditer(text, start, end))
            if found:
                end = found[-1].start()
                break
        body = text[start:end]
        value = body.rstrip("\n")
        if not value.strip() or is_placeholder(value.strip()) or not plausible_value(value):
            continue
        parts.append(text[pos:start])
        parts.append(ph.make("secret-field", value) + body[len(value) :])
        counts["secret-field"] = counts.get("secret-field", 0) + 1
        pos = end
    parts.append(text[pos:])
    return "".join(parts)
