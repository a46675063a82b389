"""The text pass: pattern rules, base64 blobs that decode to credentials, and request-bound known secrets.

Spans found here replace only the secret part of a match. In YAML output a placeholder that would start a
plain scalar (`token: [REDACTED...]` reads as a flow sequence) is single-quoted with the rest of its line,
so the document keeps its shape.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import urllib.parse
from collections.abc import MutableMapping, Sequence

import ahocorasick

from .patterns import any_rule_matches, pattern_spans
from .placeholder import Placeholders, placeholder_spans
from .spans import Span, overlaps

MIN_KNOWN_SECRET = 8
# Up to this many forms (a kubeconfig's token or key: ~10 forms each) are found with str.find; more
# (provenance: the values of the Secrets the caller can read) with one Aho-Corasick pass.
_FIND_FORMS = 64
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_CLASS_TABLE = bytes(ord("a") if i in _BASE64_ALPHABET else ord(" ") for i in range(256))
_RUN_NEEDLE = b"a" * 24
_BASE64_HINT = re.compile(r"[0-9+/]")
_HEX_DIGITS = "0123456789abcdefABCDEF"


def known_secret_forms(known_secrets: Sequence[str]) -> tuple[str, ...]:
    """Each known secret (>= 8 chars) raw, base64-encoded at every byte alignment (standard and URL
    alphabets), hex (both cases) and URL-encoded, longest first."""
    key = tuple(known_secrets)
    return _known_secret_forms(key) if key else ()


# A caller sends the same kubeconfig with every request: its secrets' forms are worked out once
# (bounded; the strings are already held by the kubeconfig cache).
@functools.lru_cache(maxsize=64)
def _known_secret_forms(known_secrets: tuple[str, ...]) -> tuple[str, ...]:
    forms: set[str] = set()
    for secret in known_secrets:
        if len(secret) < MIN_KNOWN_SECRET:
            continue
        forms.add(secret)
        raw = secret.encode("utf-8", "surrogatepass")
        forms.add(raw.hex())
        forms.add(raw.hex().upper())
        forms.add(urllib.parse.quote(secret, safe=""))
        forms.add(urllib.parse.quote_plus(secret, safe=""))
        for pad in range(3):
            enc = base64.b64encode(b"\0" * pad + raw).decode("ascii").rstrip("=")
            skip = (pad * 8 + 5) // 6  # characters that mix padding bits with the secret's bits
            stable = len(enc) if (pad + len(raw)) % 3 == 0 else len(enc) - 1
            core = enc[skip:stable]
            if len(core) >= MIN_KNOWN_SECRET:
                forms.add(core)
                forms.add(core.replace("+", "-").replace("/", "_"))
    return tuple(sorted(forms, key=len, reverse=True))


@functools.lru_cache(maxsize=64)
def _known_matcher(forms: tuple[str, ...]) -> ahocorasick.Automaton:
    """One automaton over every form: one pass over the output whatever the number of secrets."""
    automaton = ahocorasick.Automaton()
    for form in forms:
        automaton.add_word(form, len(form))
    automaton.make_automaton()
    return automaton


def known_secret_spans(text: str, known_secrets: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of a known secret's form, longest first where they overlap."""
    forms = known_secret_forms(known_secrets)
    if not forms:
        return []
    if len(forms) <= _FIND_FORMS:  # a request's own few credentials: str.find runs at memchr speed
        found = []
        for form in forms:
            pos = text.find(form)
            while pos >= 0:
                found.append((pos, pos + len(form)))
                pos = text.find(form, pos + len(form))
        return found
    return [(end + 1 - length, end + 1) for end, length in _known_matcher(forms).iter_long(text)]


def _decodes_to_credential(blob: str) -> bool:
    if len(set(blob[:32])) < 8:  # base64 of text has variety; a run of a few characters is not one
        return False
    body = blob.rstrip("=")
    rest = len(body) % 4
    body = body[:-1] if rest == 1 else body + "=" * (-len(body) % 4)
    try:
        decoded = binascii.a2b_base64(body, strict_mode=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return any_rule_matches(decoded)


def find_spans(text: str, ph: Placeholders, known_secrets: Sequence[str] = ()) -> list[Span]:
    """Every pattern, base64 and known-secret span in `text`, none crossing an existing placeholder."""
    protected = placeholder_spans(text)
    spans: list[Span] = []

    def add(start: int, end: int, rule: str) -> None:
        if end > start and not overlaps(start, end, protected):
            spans.append(Span(start=start, end=end, rule=rule, replacement=ph.make(rule, text[start:end])))

    for start, end in known_secret_spans(text, known_secrets):
        add(start, end, "known-secret")
    for start, end, rule in pattern_spans(text):
        add(start, end, rule)
    for start, end in base64_runs(text):
        blob = text[start:end]
        # pure hex (digests, trace ids) is never base64 of text: skip the decode
        if _BASE64_HINT.search(blob) and blob.rstrip("=").strip(_HEX_DIGITS) and _decodes_to_credential(blob):
            add(start, end, "base64-secret")
    return spans


def base64_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of every run of >= 24 base64 characters, with up to two `=` of padding.

    A regex steps through every character in Python's engine (~80 MB/s); mapping the text to a class
    alphabet with `bytes.translate` and finding runs with `bytes.find` (memchr speed) is ~10x faster.
    `encode("ascii", "replace")` turns every non-ASCII code point into one `?`, so offsets stay those
    of the str.
    """
    classes = text.encode("ascii", "replace").translate(_CLASS_TABLE)
    runs: list[tuple[int, int]] = []
    pos = classes.find(_RUN_NEEDLE)
    while pos >= 0:
        end = classes.find(b" ", pos)
        end = len(classes) if end < 0 else end
        pad = end
        while pad < len(text) and pad - end < 2 and text[pad] == "=":
            pad += 1
        runs.append((pos, pad))
        pos = classes.find(_RUN_NEEDLE, end)
    return runs


def _starts_plain_scalar(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    stripped = prefix.rstrip(" \t")
    if stripped != prefix or not stripped:
        body = stripped.lstrip(" \t")
        while body.startswith("- ") or body == "-":
            body = body[2:].lstrip(" \t")
        return body == "" or body.endswith(":")
    return False


def _in_flow(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    return "{" in prefix or "[" in prefix


def apply_text_spans(
    text: str, spans: list[Span], counts: MutableMapping[str, int], *, yaml_mode: bool
) -> str:
    """Apply spans; in YAML, quote a placeholder that would start a plain scalar, with its line's rest."""
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    parts: list[str] = []
    pos = 0
    i = 0
    while i < len(ordered):
        span = ordered[i]
        i += 1
        if span.start < pos:
            continue
        parts.append(text[pos : span.start])
        if yaml_mode and _starts_plain_scalar(text, span.start) and _in_flow(text, span.start):
            # inside `{...}`/`[...]` the rest of the line holds `,` `}`: quote the placeholder alone
            parts.append("'" + span.replacement + "'")
            counts[span.rule] = counts.get(span.rule, 0) + 1
            pos = span.end
            continue
        if not (yaml_mode and _starts_plain_scalar(text, span.start)):
            parts.append(span.replacement)
            counts[span.rule] = counts.get(span.rule, 0) + 1
            pos = span.end
            continue
        eol = text.find("\n", span.end)
        eol = len(text) if eol < 0 else eol
        segment = [span.replacement]
        counts[span.rule] = counts.get(span.rule, 0) + 1
        cursor = span.end
        while i < len(ordered) and ordered[i].start < eol:
            inner = ordered[i]
            i += 1
            if inner.start < cursor:
                continue
            segment.append(text[cursor : inner.start])
            segment.append(inner.replacement)
            counts[inner.rule] = counts.get(inner.rule, 0) + 1
            cursor = inner.end
        eol = max(eol, cursor)
        segment.append(text[cursor:eol])
        joined = "".join(segment)
        body = joined.rstrip(" \t\r")
        parts.append("'" + body.replace("'", "''") + "'" + joined[len(body) :])
        pos = eol
    parts.append(text[pos:])
    return "".join(parts)
