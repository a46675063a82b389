"""Pattern rules: credentials recognisable by their shape in any text (tables, logs, stderr, YAML).

Every rule has a stable id, a cheap keyword prefilter (plain `in` checks) and a bounded regex: no nested
quantifiers over the same characters, every repetition capped, so matching stays linear in the text.
A rule redacts its `value` group when it has one, else the whole match.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One pattern rule. `keywords` are lowercase when `fold` is set (checked against the folded text)."""

    id: str
    keywords: tuple[str, ...]
    regex: re.Pattern[str]
    fold: bool = False
    validate: Callable[[str, re.Match[str]], bool] | None = None
    anchored: bool = False  # matches start at a keyword: find keywords, then `regex.match` there
    # anchored only: keyword -> prefixes a match may start with just before it (`api_` before `key`), so
    # one scan for `key` finds `apikey`, `api_key`, `accesskey`... instead of one scan per spelling
    lookback: tuple[tuple[str, tuple[str, ...]], ...] = ()
    lookback_only: frozenset[str] = frozenset()  # keywords no match starts at (only their prefixes)

    def finditer(self, text: str, folded: str) -> Iterator[re.Match[str]]:
        """Matches in `text` (`folded` is `fold(text)`, used by folded anchored rules)."""
        if not self.anchored:
            yield from self.regex.finditer(text)
            return
        haystack = folded if self.fold else text
        starts: set[int] = set()
        back = dict(self.lookback)
        for keyword in self.keywords:
            prefixes = back.get(keyword, ())
            direct = keyword not in self.lookback_only
            pos = haystack.find(keyword)
            while pos >= 0:
                if direct:
                    starts.add(pos)
                for prefix in prefixes:
                    if haystack.startswith(prefix, pos - len(prefix)) and pos >= len(prefix):
                        starts.add(pos - len(prefix))
                pos = haystack.find(keyword, pos + 1)
        end = -1
        for pos in sorted(starts):
            if pos < end:
                continue
            match = self.regex.match(text, pos)
            if match is not None:
                end = match.end()
                yield match


_NOT_SECRET = frozenset(
    {
        "true",
        "false",
        "null",
        "none",
        "nil",
        "yes",
        "no",
        "required",
        "optional",
        "empty",
        "redacted",
        "changeme",
    }
)


def _plausible_secret(value: str, match: re.Match[str]) -> bool:
    """Keyword values: long enough, not a boolean/reference/mask, and not camelCase-glued to a word."""
    start = match.start()
    if start > 0:
        before = match.string[start - 1]
        # `mySecret:` is a key ending in the keyword only when the keyword starts a camelCase word
        if before.isalnum() and not (before.islower() and match.string[start].isupper()):
            return False
    if len(value) < 6 or value.lower() in _NOT_SECRET:
        return False
    return not (value.startswith(("${", "{{", "$(", "<", "*")) or len(set(value)) < 3)


def _basic_credentials(value: str, match: re.Match[str]) -> bool:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


_KEYWORDS = (
    r"(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|client[_-]?secret|auth[_-]?token|credentials?)"
)
_COMPOUNDS = (("api", "key"), ("access", "key"), ("private", "key"), ("client", "secret"), ("auth", "token"))
_KEY_SUFFIX = r"(?:[_-]?(?:key|value|hash|data))?"
_VALUE = (
    r"""(?:"(?P<dq>[^"\\\n]{1,512})"|'(?P<sq>[^'\n]{1,512})'"""
    r"""|\\"(?P<eq>[^"\\\n]{1,512})\\"|(?P<value>[^\s"',;&)\]}]{1,512}))"""  # \" : YAML inside a JSON string
)

RULES: tuple[Rule, ...] = (
    Rule(
        id="pem-private-key",
        keywords=("PRIVATE KEY",),
        regex=re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,65536}?-----END[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----"
            r"|[A-Za-z0-9+/=\s\\:,.-]{0,65536})"  # truncated or unterminated: take the whole body
        ),
    ),
    Rule(
        id="jwt",
        keywords=("eyJ",),
        regex=re.compile(r"eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{8,16384}\.[A-Za-z0-9_-]{0,8192}"),
        anchored=True,
    ),
    Rule(
        id="bearer",
        keywords=("bearer",),
        fold=True,
        regex=re.compile(r"(?i)\bbearer[ \t]{1,8}(?P<value>[A-Za-z0-9._~+/=-]{8,4096})"),
        anchored=True,
    ),
    Rule(
        id="basic-auth",
        keywords=("basic",),
        fold=True,
        regex=re.compile(r"(?i)\bbasic[ \t]{1,8}(?P<value>[A-Za-z0-9+/]{8,4096}={0,2})"),
        validate=_basic_credentials,
        anchored=True,
    ),
    Rule(
        id="url-credentials",
        keywords=("://",),
        regex=re.compile(r"://[^\s:/@'\"]{0,256}:(?P<value>[^\s/@'\"]{1,256})@"),
        anchored=True,
    ),
    Rule(
        id="aws-access-key",
        keywords=("AKIA", "ASIA"),
        regex=re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
        anchored=True,
    ),
    Rule(id="gcp-api-key", keywords=("AIza",), regex=re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), anchored=True),
    Rule(
        id="github-token",
        keywords=("gh", "github_pat_"),  # "gh": one scan for ghp_, gho_, ghu_, ghs_, ghr_
        regex=re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"),
        anchored=True,
    ),
    Rule(
        id="slack-token",
        keywords=("xox",),
        regex=re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,250}"),
        anchored=True,
    ),
    Rule(
        id="stripe-key",
        keywords=("sk_", "rk_"),
        regex=re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,247}"),
        anchored=True,
    ),
    Rule(
        id="keyword-secret",
        # every way a match of _KEYWORDS can start (folded): the compounds (api_key, client-secret...)
        # through `lookback`; scanning for "api" alone would stop at every apiVersion
        keywords=(
            "passw",
            "passphrase",
            "secret",
            "token",
            "credential",
            "key",
        ),
        lookback=tuple(
            (
                last,
                tuple(
                    f"{first}{sep}"
                    for first, second in _COMPOUNDS
                    if second == last
                    for sep in ("", "_", "-")
                ),
            )
            for last in ("key", "secret", "token")
        ),
        lookback_only=frozenset({"key"}),
        fold=True,
        anchored=True,
        regex=re.compile(rf"(?i){_KEYWORDS}{_KEY_SUFFIX}[\"']?[ \t]{{0,8}}[:=][ \t]{{0,8}}{_VALUE}"),
        validate=_plausible_secret,
    ),
)

VALUE_GROUPS = ("value", "dq", "sq", "eq")


def value_span(match: re.Match[str]) -> tuple[int, int]:
    """The part of a match to redact: its value group if it has one, else all of it."""
    groups = match.re.groupindex
    for name in VALUE_GROUPS:
        if name in groups and match.group(name) is not None:
            return match.span(name)
    return match.span()


def fold(text: str) -> str:
    """`text` lowercased with every offset kept: `str.lower` lengthens some characters (U+0130), which
    would shift every keyword position after them; all keywords are ASCII, so non-ASCII becomes `?`."""
    if text.isascii():
        return text.lower()
    return text.encode("ascii", "replace").decode("ascii").lower()


def active_rules(text: str, folded: str) -> list[Rule]:
    """The rules whose keywords occur in `text` (the prefilter); `folded` is `fold(text)`."""
    active: list[Rule] = []
    for rule in RULES:
        haystack = folded if rule.fold else text
        if rule.anchored or any(k in haystack for k in rule.keywords):
            active.append(rule)
    return active


def any_rule_matches(text: str) -> bool:
    """True when some rule finds a credential in `text` (used on decoded base64)."""
    folded = fold(text)
    for rule in active_rules(text, folded):
        for match in rule.finditer(text, folded):
            start, end = value_span(match)
            if rule.validate is None or rule.validate(match.string[start:end], match):
                return True
    return False
