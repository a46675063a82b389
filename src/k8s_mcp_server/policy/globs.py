"""Precompiled glob lists: fnmatch semantics on whole strings, case-sensitive."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """True when `pattern` uses a glob character (`*`, `?` or `[`)."""
    return any(ch in _GLOB_CHARS for ch in pattern)


def glob_problem(pattern: str) -> str | None:
    """Why `pattern` is not a usable glob, or None when it is."""
    if not pattern:
        return "an empty pattern matches nothing; remove it or write '*'"
    if pattern != pattern.strip():
        return f"pattern {pattern!r} has leading or trailing spaces; remove them"
    depth_open = False
    for index, ch in enumerate(pattern):
        if ch == "[" and not depth_open:
            depth_open = True
            # `[]...]` and `[!]...]` treat the first `]` as a literal
            skip = index + 1
            if skip < len(pattern) and pattern[skip] == "!":
                skip += 1
            if skip < len(pattern) and pattern[skip] == "]":
                return f"pattern {pattern!r} has an empty or unclosed '[' class"
        elif ch == "]" and depth_open:
            depth_open = False
    if depth_open:
        return f"pattern {pattern!r} has an unclosed '['; close it with ']' or remove it"
    return None


@dataclass(frozen=True, kw_only=True, eq=False)
class GlobSet:
    """A list of patterns compiled once: exact names in a set, globs in one regex."""

    patterns: tuple[str, ...]
    literals: frozenset[str]
    regex: re.Pattern[str] | None
    any: bool  # the list holds "*"

    @classmethod
    def compile(cls, patterns: Iterable[str]) -> GlobSet:
        """Compile `patterns` (already validated with `glob_problem`)."""
        pats = tuple(patterns)
        globs = [p for p in pats if is_glob(p)]
        regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs)) if globs else None
        return cls(
            patterns=pats,
            literals=frozenset(p for p in pats if not is_glob(p)),
            regex=regex,
            any="*" in pats,
        )

    def match(self, value: str) -> bool:
        """True when `value` matches one of the patterns, as a whole string."""
        if self.any or value in self.literals:
            return True
        return self.regex is not None and self.regex.match(value) is not None


def glob_matches(pattern: str, value: str) -> bool:
    """One-off whole-string match, case-sensitive (used while validating, not per request)."""
    return fnmatch.fnmatchcase(value, pattern)
