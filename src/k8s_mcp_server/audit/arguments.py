"""Redact secret values inside structured command arguments before the audit record is written.

`audit/secrets.py` replaces the values of secret-bearing flags and text that looks secret wherever it
is; it cannot see into a document. Here the documents and pair lists that commands take are parsed
and only the secret parts replaced, so the record still shows what the command changed:

- patch documents: `kubectl patch -p/--patch` (JSON patch, merge and strategic patches, JSON or
  YAML), `kubectl run --overrides`, `argocd app patch --patch`;
- `helm --set-json key=<json>[,key=<json>]`;
- pairs: `--set`, `--set-string`, `--set-literal`, `--helm-set`, `--helm-set-string`, `--env`,
  `--plugin-env`, argocd `-p/--parameter`, and `KEY=VALUE` words (`set env`, `annotate`);
- `--from-literal=k=v`: every value.

In a document, a value is secret when it is under `data`/`stringData`/`binaryData` or a secret-looking
key, when a JSON-patch operation's `path` names one, or when it is the `value` of a `{name, value}`
pair with a secret-looking name (container env, helm parameters). A document that does not parse, is
over MAX_DOCUMENT (MAX_YAML for YAML) or nests deeper than MAX_DEPTH is replaced whole: over-redaction
is accepted, a leak is not. A redacted document is written back as compact JSON. Everything is linear
in the input.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from typing import Any

import yaml

from k8s_mcp_server.audit.secrets import PLACEHOLDER

MAX_DOCUMENT = 16 * 1024  # longer documents are not parsed (a command is at most 64 KiB)
MAX_YAML = 4 * 1024  # PyYAML is pure Python (~20 ms for 8 KiB of flow nesting): longer YAML is not read
MAX_DEPTH = 64
MAX_NODES = 20_000  # YAML aliases can make a small document a large tree

_DOCUMENT_FLAGS = frozenset({"--patch", "--overrides"})
_PAIR_FLAGS = frozenset(
    {"--set", "--set-string", "--helm-set", "--helm-set-string", "--env", "--plugin-env", "--parameter"}
)
_SINGLE_PAIR_FLAGS = frozenset({"--set-literal"})
_JSON_PAIR_FLAGS = frozenset({"--set-json"})
_LITERAL_FLAGS = frozenset({"--from-literal"})
_DATA_KEYS = frozenset({"data", "stringdata", "binarydata"})
_SECRET_SEGMENTS = frozenset({"secret", "secrets", "credential", "credentials", "stringdata", "passwords"})
# Alternatives of literals only: linear. Applied to keys, never to values.
_SECRET_KEY = re.compile(
    r"pass(?:word|wd|phrase|$|[-_.])|secret|token|credential|api[-_]?key|private[-_]?key|auth|pwd|[-_.a-z]key$",
    re.IGNORECASE,
)
_REFERENCE_SUFFIXES = ("ref", "refs", "name", "names")  # secretKeyRef, existingSecretName: names, not values
_MAX_KEY = 256


class _TooLarge(Exception):
    """The document is deeper or larger than the walk will go."""


def secret_key(key: str) -> bool:
    """Whether a key names a secret value (`password`, `apiKey`, `tls.key`; not `key`, not `secretKeyRef`)."""
    lowered = key[:_MAX_KEY].lower()
    if lowered == "key" or lowered.endswith(_REFERENCE_SUFFIXES):
        return False
    return bool(_SECRET_KEY.search(lowered))


def _secret_path(key: str) -> bool:
    """A helm-style dotted key (`db.auth.password`): its last part, or a part that holds secrets."""
    parts = key.split(".")
    return secret_key(key) or secret_key(parts[-1]) or any(part.lower() in _SECRET_SEGMENTS for part in parts)


def redact_structured_argv(argv: Sequence[str]) -> list[str]:
    """`argv` with secret values inside structured arguments replaced (other words unchanged)."""
    words = list(argv)
    replacements = _redact_words(words, set())
    return [new if new is not None else old for old, new in zip(words, replacements, strict=True)]


def redact_structured_command(command: str) -> str:
    """The command text with secret values inside structured arguments replaced; a changed word is
    written back single-quoted."""
    spans, breaks = _split(command)
    replacements = _redact_words([word for _, _, word in spans], breaks)
    pieces: list[str] = []
    cursor = 0
    for (start, end, _), new in zip(spans, replacements, strict=True):
        if new is not None:
            pieces += [command[cursor:start], shlex.quote(new)]
            cursor = end
    pieces.append(command[cursor:])
    return "".join(pieces)


def _redact_words(words: list[str], breaks: set[int]) -> list[str | None]:
    patch = "patch" in words
    login = "login" in words
    out: list[str | None] = [None] * len(words)
    pending: str | None = None
    for index, word in enumerate(words):
        if index in breaks:
            pending = None
        if pending is not None:
            new = _redact_value(pending, word)
            out[index] = new if new != word else None
            pending = None
            continue
        name, sep, value = word.partition("=")
        kind = _flag_kind(name, patch=patch, login=login) if word.startswith("-") else None
        if kind is None and word.startswith("-p") and not word.startswith("--") and patch and len(word) > 2:
            kind, sep, value = "-p", "=", word[2:].removeprefix("=")  # -p'{...}' written together
            name = "-p"
        if kind is not None:
            if not sep:
                pending = kind
                continue
            new = _redact_value(kind, value)
            out[index] = f"{name}={new}" if new != value else None
        elif sep and not word.startswith("-") and name:
            new = _redact_pair_list([word], single=True)
            out[index] = new if new != word else None
    return out


def _flag_kind(name: str, *, patch: bool, login: bool) -> str | None:
    lowered = name.lower()
    if lowered == "-p":
        return None if login else ("--patch" if patch else "--parameter")
    if lowered in _DOCUMENT_FLAGS | _PAIR_FLAGS | _SINGLE_PAIR_FLAGS | _JSON_PAIR_FLAGS | _LITERAL_FLAGS:
        return lowered
    return None


def _redact_value(kind: str, value: str) -> str:
    if kind in _DOCUMENT_FLAGS:
        return _redact_document(value)
    if kind in _JSON_PAIR_FLAGS:
        return _redact_json_pairs(value)
    if kind in _LITERAL_FLAGS:
        key, sep, _ = value.partition("=")
        return f"{key}={PLACEHOLDER}" if sep else PLACEHOLDER
    return _redact_pair_list([value] if kind in _SINGLE_PAIR_FLAGS else _split_pairs(value), single=False)


def _split_pairs(value: str) -> list[str]:
    """helm's `a=1,b=2` (a backslash escapes a comma); a piece without `=` continues the value before."""
    return re.split(r"(?<!\\),", value)


def _redact_pair_list(pairs: list[str], *, single: bool) -> str:
    out: list[str] = []
    in_secret = False
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            out.append(PLACEHOLDER if in_secret else pair)
            continue
        in_secret = _secret_path(key)
        if in_secret:
            out.append(f"{key}={PLACEHOLDER}")
        elif value[:1] in ("{", "[") and (single or len(pairs) == 1):
            out.append(f"{key}={_redact_document(value, whole_if_unparsed=False)}")
        else:
            out.append(pair)
    return ",".join(out)


def _redact_json_pairs(value: str) -> str:
    """`key=<json>[,key=<json>...]`; anything that does not read that way is replaced whole."""
    decoder = json.JSONDecoder()
    out: list[str] = []
    position = 0
    try:
        while position < len(value):
            equals = value.index("=", position)
            key = value[position:equals]
            document, position = decoder.raw_decode(value, equals + 1)
            if _secret_path(key):
                out.append(f"{key}={json.dumps(PLACEHOLDER)}")
            else:
                walked, changed = _walk(document, secret=False, budget=[MAX_NODES], depth=0)
                out.append(f"{key}={_dump(walked)}" if changed else value[equals - len(key) : position])
            if position < len(value):
                if value[position] != ",":
                    return PLACEHOLDER
                position += 1
    except (ValueError, RecursionError, _TooLarge):
        return PLACEHOLDER
    return ",".join(out)


def _redact_document(text: str, *, whole_if_unparsed: bool = True) -> str:
    """A patch document with its secret values replaced; the text itself when nothing is secret."""
    if len(text) > MAX_DOCUMENT:
        return PLACEHOLDER
    try:
        document: Any = json.loads(text)
    except (ValueError, RecursionError):
        if len(text) > MAX_YAML:
            return PLACEHOLDER if whole_if_unparsed else text
        try:
            document = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError, ValueError):
            return PLACEHOLDER if whole_if_unparsed else text
    if not isinstance(document, dict | list):
        return PLACEHOLDER if whole_if_unparsed else text
    try:
        walked, changed = _walk(document, secret=False, budget=[MAX_NODES], depth=0)
    except _TooLarge:
        return PLACEHOLDER
    return _dump(walked) if changed else text


def _dump(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True, default=str)


def _walk(node: Any, *, secret: bool, budget: list[int], depth: int) -> tuple[Any, bool]:
    """(the node with secret scalars replaced, whether anything was replaced)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooLarge
    if isinstance(node, dict):
        secret_children = _secret_members(node)
        out: dict[Any, Any] = {}
        changed = False
        for key, value in node.items():
            name = str(key)
            child_secret = secret or name in secret_children or name.lower() in _DATA_KEYS or secret_key(name)
            out[key], child_changed = _walk(value, secret=child_secret, budget=budget, depth=depth + 1)
            changed = changed or child_changed
        return out, changed
    if isinstance(node, list):
        items = [_walk(item, secret=secret, budget=budget, depth=depth + 1) for item in node]
        return [item for item, _ in items], any(changed for _, changed in items)
    if secret and isinstance(node, str | int | float) and not isinstance(node, bool) and node != PLACEHOLDER:
        return PLACEHOLDER, True
    return node, False


def _secret_members(node: dict[Any, Any]) -> frozenset[str]:
    """Members of `node` that are secret because of their siblings: a JSON-patch operation's `value`
    when its `path` names secret data; the `value` of a `{name|key: <secret-looking>, value}` pair."""
    path = node.get("path")
    if isinstance(path, str) and "op" in node:
        segments = [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")]
        if any(part.lower() in _DATA_KEYS or secret_key(part) for part in segments):
            return frozenset({"value"})
    for label in ("name", "key"):
        named = node.get(label)
        if isinstance(named, str) and "value" in node and secret_key(named):
            return frozenset({"value"})
    return frozenset()


def _split(command: str) -> tuple[list[tuple[int, int, str]], set[int]]:
    """Shell words of `command` as (start, end, word without quoting), in one pass; and the indexes of
    the words that follow an unquoted operator (`;`, `|`, ...), which start a new command."""
    words: list[tuple[int, int, str]] = []
    breaks: set[int] = set()
    length = len(command)
    index = 0
    while index < length:
        char = command[index]
        if char.isspace():
            index += 1
            continue
        if char in ";&|<>()":
            breaks.add(len(words))
            index += 1
            continue
        start = index
        buffer: list[str] = []
        while index < length and not command[index].isspace() and command[index] not in ";&|<>()":
            char = command[index]
            if char == "'":
                close = command.find("'", index + 1)
                close = length if close < 0 else close
                buffer.append(command[index + 1 : close])
                index = close + 1
            elif char == '"':
                index += 1
                while index < length and command[index] != '"':
                    if command[index] == "\\" and index + 1 < length and command[index + 1] in '"\\$`':
                        index += 1
                    buffer.append(command[index])
                    index += 1
                index += 1
            elif char == "\\":
                if index + 1 < length and command[index + 1] != "\n":
                    buffer.append(command[index + 1])
                index += 2
            else:
                buffer.append(char)
                index += 1
        words.append((start, min(index, length), "".join(buffer)))
    return words, breaks
