"""Redact secrets from command strings and argv before they are written to the audit log.

Two passes. Word pass: the command is split into shell words (quotes and backslashes removed, so
`--tok""en='x'` is still seen as `--token=x`) and the values of secret-bearing flags are replaced.
Text pass: the rules the responses get too (`redact/rules/*.yaml`: PEM private keys, bearer tokens,
JWTs, credentials in URLs, name-bound `password=…`/`"token": "…"` pairs, self-identifying token formats),
plus an inline Secret's `data: {…}`. Over-redaction is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from k8s_mcp_server.redact.ruleset import ruleset

PLACEHOLDER = "[REDACTED]"

_SENSITIVE_WORDS = r"(?:password|passwd|secret|token|credential|apikey|api[_-]key|auth|private[_-]?key)"
# A flag whose value is a secret: --token, --password, --docker-password, --client-key(-data), --key ...
_SECRET_FLAG = re.compile(rf"^--?[\w-]*(?:{_SENSITIVE_WORDS}|(?:^|-)key(?:-[\w-]*)?$)[\w-]*$", re.IGNORECASE)
_LITERAL_FLAGS = frozenset({"--from-literal"})  # every value is secret: keep the key, drop the value
_SET_FLAGS = frozenset({"--set", "--set-string", "--set-json"})  # k=v,k2=v2: drop values of secret keys
_SET_LITERAL_FLAGS = frozenset({"--set-literal"})  # one k=v, no comma splitting
_SECRET_KEY = re.compile(rf"{_SENSITIVE_WORDS}|(?:^|[._-])key$|^key", re.IGNORECASE)
_LOGIN = re.compile(r"(?<![\w-])login(?![\w-])")  # `helm registry login -p X`, `argocd login -p X`

# Text pass: the shared rule set (k8s_mcp_server/redact/rules/*.yaml, the same rules the responses
# get), then one audit-only shape: the `data`/`stringData` mapping of an inline Secret (a patch document).
_INLINE_DATA = re.compile(r"""(["']?(?:data|stringData)["']?[ \t]{0,64}:[ \t]{0,64}\{)[^{}]{0,1048576}(\})""")

# A shell word: unquoted runs, '…' and "…" (an unterminated quote runs to the end of the string).
# It ends at an unquoted operator, so `--token=x;rm` keeps its `;` for the auditor to see.
_OPERATOR = re.compile(r"[;&|<>()]")
_WORD = re.compile(r"""(?:[^\s'"\\;&|<>()]|\\.|\\$|'[^']*(?:'|$)|"(?:[^"\\]|\\.)*(?:"|$))+""", re.DOTALL)


def redact_command(command: str) -> str:
    """The command with secret values replaced by `[REDACTED]`; quoting does not hide a secret."""
    spans = [(m.start(), m.end(), _dequote(m.group())) for m in _WORD.finditer(command)]
    # A word after an operator (`--token ; rm`) starts a new command: it is not the flag's value.
    breaks = {
        index
        for index in range(1, len(spans))
        if _OPERATOR.search(command, spans[index - 1][1], spans[index][0])
    }
    words = [word for _, _, word in spans]
    replacements = _redact_words(words, login=bool(_LOGIN.search(command)), breaks=breaks)
    pieces: list[str] = []
    cursor = 0
    for (start, end, _), replacement in zip(spans, replacements, strict=True):
        if replacement is not None:
            pieces.append(command[cursor:start])
            pieces.append(replacement)
            cursor = end
    pieces.append(command[cursor:])
    return _redact_text("".join(pieces))


def redact_argv(argv: Sequence[str]) -> list[str]:
    """`argv` with secret values replaced; each word also goes through the text patterns."""
    words = list(argv)
    login = any(word == "login" for word in words)
    replacements = _redact_words(words, login=login)
    return [
        _redact_text(new if new is not None else old) for old, new in zip(words, replacements, strict=True)
    ]


def _redact_words(words: list[str], *, login: bool, breaks: set[int] | None = None) -> list[str | None]:
    """For each word, its replacement (None = keep as written)."""
    out: list[str | None] = [None] * len(words)
    pending: str | None = None  # the flag whose value is the next word
    for index, word in enumerate(words):
        if breaks and index in breaks:
            pending = None
        if pending is not None:
            out[index] = _redact_value(pending, word)
            pending = None
            continue
        name, sep, value = word.partition("=")
        if not word.startswith("-") or not _is_value_flag(name, login=login):
            if login and word.startswith("-p") and not word.startswith("--") and len(word) > 2:
                out[index] = "-p" + PLACEHOLDER  # -pSECRET
            continue
        if sep:
            out[index] = f"{name}={_redact_value(name, value)}"
        else:
            pending = name
    return out


def _is_value_flag(name: str, *, login: bool) -> bool:
    lowered = name.lower()
    if lowered in _LITERAL_FLAGS or lowered in _SET_FLAGS or lowered in _SET_LITERAL_FLAGS:
        return True
    if login and lowered == "-p":
        return True
    return bool(_SECRET_FLAG.match(name))


def _redact_value(flag: str, value: str) -> str:
    lowered = flag.lower()
    if lowered in _LITERAL_FLAGS:
        key, sep, _ = value.partition("=")
        return f"{key}={PLACEHOLDER}" if sep else PLACEHOLDER
    if lowered in _SET_LITERAL_FLAGS:
        return _redact_pairs([value])
    if lowered in _SET_FLAGS:
        return _redact_pairs(re.split(r"(?<!\\),", value))
    return PLACEHOLDER


def _redact_pairs(pairs: list[str]) -> str:
    """k=v pairs with secret-looking keys redacted; a piece without "=" belongs to the value before it."""
    out: list[str] = []
    in_secret = False
    for pair in pairs:
        key, sep, _ = pair.partition("=")
        if not sep:
            out.append(PLACEHOLDER if in_secret else pair)
            continue
        in_secret = bool(_SECRET_KEY.search(key))
        out.append(f"{key}={PLACEHOLDER}" if in_secret else pair)
    return ",".join(out)


def redact_text(text: str) -> str:
    """Only the text patterns (no flag parsing): for prose that may quote a command, like a reason."""
    return _redact_text(text)


def _redact_text(text: str) -> str:
    spans = ruleset().spans(text)
    if spans:
        pieces: list[str] = []
        cursor = 0
        for start, end, _rule in sorted(spans, key=lambda span: (span[0], -span[1])):
            if start < cursor:
                continue
            pieces += [text[cursor:start], PLACEHOLDER]
            cursor = end
        pieces.append(text[cursor:])
        text = "".join(pieces)
    return _INLINE_DATA.sub(r"\1" + PLACEHOLDER + r"\2", text)


def _dequote(word: str) -> str:
    """Remove shell quoting the way bash would (no expansions): 'a'"b"\\c -> abc."""
    out: list[str] = []
    index = 0
    while index < len(word):
        char = word[index]
        if char == "'":
            close = word.find("'", index + 1)
            close = len(word) if close < 0 else close
            out.append(word[index + 1 : close])
            index = close + 1
        elif char == '"':
            index += 1
            while index < len(word) and word[index] != '"':
                if word[index] == "\\" and index + 1 < len(word) and word[index + 1] in '"\\$`':
                    index += 1
                out.append(word[index])
                index += 1
            index += 1
        elif char == "\\" and index + 1 < len(word):
            if word[index + 1] != "\n":  # backslash-newline is a line continuation: both vanish
                out.append(word[index + 1])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)
