"""Name-bound secrets: a value is secret because of the name it is stored under (`DB_PASSWORD: x`,
`"apiKey": "x"`, `token=x`), whatever its length or shape.

One judgement for every place that pairs a name with a value (the `name-bound` rule of the text pass,
`describe` data entries): the name looks secret (`secret_name`), it is not a name that holds a
reference to a secret or a setting about one (`existingSecret`, `secretName`, `passwordKey`,
`token-ttl`, `*_FILE`), and the value is not a placeholder, a variable, a boolean, a path, a URL
without credentials, a `namespace/name` reference or a number.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re

_SECRET_NAME = re.compile(
    r"(?i)passw|pwd|passphrase|secret|token|credential|private[_.-]?key|api[_.-]?key|access[_.-]?key"
    r"|auth[_.-]?key|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key|session[_.-]?key"
    r"|conn(?:ection)?[_.-]?str|(?:^|[_.-])dsn$|(?:^|[_.-])auth(?:orization)?$|^authorization|(?:^|[_.-])salt$|^apikey$"
    r"|[a-z0-9][_.-]key$|(?-i:[a-z]Key$)"
)
# names that hold a reference to a Secret, a key inside one, or a setting about one: not the value
_REFERENCE_NAME = re.compile(
    r"(?i)existing|secret[_.-]?names?$|secret[_.-]?(?:key)?[_.-]?refs?$|key[_.-]?refs?$|[_.-]?refs?$"
    r"|(?:^|[_.-]|[a-z](?=[A-Z]))names?$|namespace|(?:file|files|path|dir|mount|mountpath)$|ttl$|expir"
    r"|enabled$|length$|size$|type$|policy$|timeout$|version$|issuer$|provider$|algorithm$|count$"
    r"|kind$|mode$|format$|header$|endpoint$|url$|uri$|prefix$|suffix$|selector|required$|optional$"
    r"|rotation|lifetime$|duration$|seconds$|audience|(?:key|secret|token)[_.-]?ids?$|keys$|^keys?$"
    r"|(?:passw(?:or)?d|token)[_.-]?key$|annotation|label|checksum|hash$|inject|template"
    r"|(?:idempotency|cache|partition|routing|sort|primary|foreign|object|lookup|dedupe?|group|shard|row"
    r"|message|event|request|trace|unique|composite|public|pub|search|index|order|match|node|metric|tag"
    r"|bucket|s3|blob|item|record|entity|resource|column|table|query|lock|queue|topic|stream|job|task"
    r"|config|map|dict|cursor|pagination|page|continue|next|registry|host|ssh[_.-]?public)[_.-]?key$"
    r"|source$|strategy$|backend$|store$|field$|from$|env$|volume|^automount"
)
_NOT_SECRET = frozenset(
    {
        "true",
        "false",
        "null",
        "none",
        "nil",
        "yes",
        "no",
        "on",
        "off",
        "required",
        "optional",
        "empty",
        "redacted",
        "changeme",
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api-key",
        "api_key",
        "username",
        "user",
        "key",
        "value",
        "string",
        "enabled",
        "disabled",
        "undefined",
        "unset",
        "omitted",
        "hidden",
        "masked",
        "xxxxxx",
        "******",
        "<none>",
        "<nil>",
        "<unset>",
        "opaque",
        "bearer",
        "basic",
    }
)
_PLACEHOLDERISH = re.compile(
    r"""^(?:\$\{|\{\{|\$\(|<|\*|%\(|#\{|\[REDACTED|\$[A-Za-z_][\w-]{0,128}(?:[.:][\w.-]{1,256}){1,8}$)"""
)
# `namespace/name`, a Vault path `database/creds/payments-readonly`: lowercase segments joined by `/`
_OBJECT_REF = re.compile(r"[a-z0-9][a-z0-9._-]{0,252}(?:/[a-z0-9][a-z0-9._-]{0,252}){1,16}")
_PATH = re.compile(r"/[\w./-]{0,4096}|~/[\w./-]{0,4096}")
_PLAIN_URL = re.compile(r"[a-z][a-z0-9+.-]{1,20}://[^\s@]{1,4096}")
_NUMBERISH = re.compile(r"[0-9]{1,5}(?:\.[0-9]{1,9})?(?:[smhdwy]|ms|us|ns|[KMGT]i?B?|%)?")
_IDENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
MIN_VALUE = 6


@functools.lru_cache(maxsize=4096)
def secret_name(name: str) -> bool:
    """True when `name` (a key, env var, flag or field name) looks like it holds a secret value."""
    return bool(_SECRET_NAME.search(name)) and not _REFERENCE_NAME.search(name)


def plausible_value(value: str) -> bool:
    """True when `value`, stored under a secret-looking name, may be the secret itself."""
    stripped = value.strip().strip("\"'")
    if len(stripped) < MIN_VALUE or stripped.lower() in _NOT_SECRET or len(set(stripped)) < 3:
        return False
    if _PLACEHOLDERISH.match(stripped):
        return False
    return not (
        _OBJECT_REF.fullmatch(stripped)
        or _PATH.fullmatch(stripped)
        or _PLAIN_URL.fullmatch(stripped)
        or _NUMBERISH.fullmatch(stripped)
    )


def key_before(text: str, end: int, limit: int = 128) -> str:
    """The identifier that ends at `end` (letters, digits, `_.-`), at most `limit` characters."""
    start = end
    floor = max(0, end - limit)
    while start > floor and text[start - 1] in _IDENT_CHARS:
        start -= 1
    return text[start:end]


_BLOCK_INDICATOR = re.compile(r"[|>][+-]?[1-9]?[+-]?")


def value_range(match: re.Match[str]) -> tuple[int, int]:
    """The secret part of a name-bound match. A plain value of a key that starts its line (YAML,
    `describe`) runs to the end of the line (less a ` #` comment); a YAML block scalar (`key: |`) is
    every following line indented deeper than the key."""
    for group in ("dq", "sq", "eq", "value"):
        if match.group(group) is not None:
            start, end = match.span(group)
            break
    else:  # pragma: no cover - the pattern always sets one
        return match.span()
    if group != "value" or match.group("sep") != ":":
        return start, end
    text = match.string
    key = key_before(text, match.end("rest"))
    key_start = match.end("rest") - len(key)
    line_start = text.rfind("\n", 0, key_start) + 1
    lead = text[line_start:key_start]
    if lead.replace("- ", "  ").strip(" \t"):
        return start, end  # the key is inside a line (a log, a flow mapping): the value ends at a space
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[start:line_end]
    if _BLOCK_INDICATOR.fullmatch(rest.rstrip(" \t\r")):
        return _block(text, line_end, key_start - line_start) or (start, end)
    comment = rest.find(" #")
    if comment >= 0:
        rest = rest[:comment]
    return start, start + len(rest.rstrip(" \t\r"))


def _block(text: str, pos: int, column: int) -> tuple[int, int] | None:
    """The content of a block scalar whose header line ends at `pos`: lines indented past `column`."""
    first = -1
    last = -1
    while pos < len(text):
        nxt = text.find("\n", pos + 1)
        nxt = len(text) if nxt < 0 else nxt
        line = text[pos + 1 : nxt]
        body = line.lstrip(" ")
        if body.strip():
            if len(line) - len(body) <= column:
                break
            if first < 0:
                first = pos + 1 + len(line) - len(body)
            last = pos + 1 + len(line.rstrip(" \t\r"))
        pos = nxt
    return (first, last) if first >= 0 else None


def key_start(text: str, end: int) -> int:
    """Where the key starts, from the end of a name-bound prefilter hit (just after the value's first
    character): back over the value's first character, blanks, the separator, a quote (or `\\"`).
    -1 when the key does not look secret (checked here, before any pattern runs)."""
    pos = end - 1
    while pos > 0 and text[pos - 1] in " \t":
        pos -= 1
    pos -= 1  # the separator
    if pos > 0 and text[pos - 1] in "\"'":
        pos -= 1
        if pos > 0 and text[pos - 1] == "\\":
            pos -= 1
    key = key_before(text, pos)
    start = pos - len(key)
    if not key or (start > 0 and text[start - 1] in ":/@") or not secret_name(key):
        return -1  # `arn:aws:secretsmanager:...:secret:name`, a URL path: a word inside a token
    return start


def plausible_range(match: re.Match[str], start: int, end: int) -> bool:
    """The name-bound check on the value's full range (see `value_range`); `key_ok` has passed."""
    return plausible_value(match.string[start:end])


def decodes_to_pair(value: str) -> bool:
    """True when `value` is base64 of `user:password` (HTTP basic credentials, docker `auth`)."""
    body = value.rstrip("=")
    body += "=" * (-len(body) % 4)
    try:
        decoded = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return False
    _head, sep, tail = decoded.partition(b":")
    return bool(sep) and bool(tail) and b"\n" not in decoded


_ENV_TAIL = re.compile(
    r"""name\\?["']?[ \t]{0,8}:[ \t]{0,8}\\?["']?[A-Za-z0-9_.-]{1,128}\\?["']?[ \t]{0,8},?[ \t]{0,8}"""
    r"""(?:\r?\n[ \t]{0,128}(?:-[ \t]{1,8})?)?\\?["']?value\\?["']?[ \t]{0,8}:\Z"""
)


def env_start(text: str, end: int) -> int:
    """Where an env entry starts (its `name`), from the end of an `secret-env` prefilter hit (after the
    `value` key's colon): the entry spans at most ~400 characters before it."""
    match = _ENV_TAIL.search(text, max(0, end - 420), end)
    return match.start() if match is not None else end


def env_value_range(match: re.Match[str]) -> tuple[int, int]:
    """The value of an env entry: a quoted scalar, a plain one to the end of its line (less a JSON `,`),
    or a YAML block scalar's lines."""
    for group in ("dq", "eq", "sq", "value"):
        if match.group(group) is not None:
            start, end = match.span(group)
            break
    else:  # pragma: no cover - the pattern always sets one
        return match.span()
    if group != "value":
        return start, end
    text = match.string
    value = text[start:end].rstrip(" \t\r")
    if match.group("q") and value.endswith(","):
        value = value[:-1]
    if "\n" not in text[match.start() : match.start("q")]:  # one line: a flow mapping ends the value
        cut = min((i for i in (value.find(","), value.find("}"), value.find("]")) if i >= 0), default=-1)
        value = value[:cut].rstrip(" \t") if cut >= 0 else value
    if _BLOCK_INDICATOR.fullmatch(value):
        key = match.start("q")
        column = key - (text.rfind("\n", 0, key) + 1)
        return _block(text, end, column) or (start, start + len(value))
    return start, start + len(value)


STARTS = {"name-bound": key_start, "secret-env": env_start}
SPANS = {"name-bound": value_range, "secret-env": env_value_range}
