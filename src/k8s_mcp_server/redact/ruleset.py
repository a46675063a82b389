"""The secret rule set, as data: `rules/*.yaml` loaded, checked and compiled once, shared by the response
redactor (`textpass`) and the audit log (`audit.secrets`).

Each rule has an id, prefilter keywords (or a prefilter expression), a pattern, optional checks and its
own true-positive and false-positive samples (`tests/redact/test_ruleset.py` runs them, as gitleaks
does). Matching is linear in the text:

- one multi-pattern scan finds every keyword of every rule at once (Hyperscan when it is installed, else
  one `str.find` loop per keyword, same results, slower);
- a rule's pattern is tried only at its keyword hits, and every pattern is checked at load time to be
  *bounded*: each repetition has a finite maximum, no repetition sits inside another, no
  backreferences, so one try costs at most a constant number of steps (the pattern's maximum
  length) and a hit inside the last match is skipped.

A rule redacts its named value group (`value`, `dq`, `sq`, `eq`) when the pattern has one, else the whole
match.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from . import namebound

try:  # the fast engine; the fallback below gives the same spans
    import hyperscan

    HAVE_HYPERSCAN = True
except ImportError:  # pragma: no cover - the fallback is exercised through use_hyperscan=False
    HAVE_HYPERSCAN = False

__all__ = [
    "VALUE_GROUPS",
    "CompiledRule",
    "RuleSet",
    "fold",
    "load_ruleset",
    "ruleset",
    "value_span",
]

VALUE_GROUPS = ("value", "dq", "sq", "eq")
MAX_REPEAT = 1 << 24  # the largest repetition a rule may ask for (16 MiB, above any output cap)
MAX_BACK = 256


class Checks(BaseModel):
    """Optional checks a match must pass (on its redacted part)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entropy: float | None = None  # minimum Shannon entropy, bits per character
    classes: int | None = None  # at least this many of: lowercase, uppercase, digit
    not_hex: bool = False  # refuse a pure hexadecimal value (UUIDs, digests look like that)
    decodes: Literal["base64-pair"] | None = None  # base64 that decodes to `user:password`
    name_bound: bool = False  # the key before the value must look secret and not be a reference
    env_name: bool = False  # the `envname` group (an env entry's name) must look secret


class RuleSpec(BaseModel):
    """One rule as written in `rules/*.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")
    kind: Literal["self-identifying", "name-bound", "structure"]
    description: str
    keywords: tuple[str, ...] = ()
    prefilter: str | None = None  # an expression instead of keywords (a match starts where it starts)
    prefilter_anchor: Literal["start", "end"] = "start"  # end: the rule finds its start back from the end
    back: int = Field(default=0, ge=0, le=MAX_BACK)  # a match may start this far before the keyword
    pattern: str
    checks: Checks = Checks()
    true_positives: tuple[str, ...] = Field(min_length=1)
    false_positives: tuple[str, ...] = ()


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[RuleSpec, ...]


class RuleError(ValueError):
    """A rule file is malformed or a pattern is not bounded (a bug in the shipped data)."""


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    regex: re.Pattern[str]
    prefilter: re.Pattern[str] | None
    max_len: int
    check: Callable[[re.Match[str], int, int], bool]
    span: Callable[[re.Match[str]], tuple[int, int]]
    # prefilter_anchor end: the match's start from the prefilter hit's end, or -1 when not worth trying
    start_of: Callable[[str, int], int] | None = None

    @property
    def id(self) -> str:
        return self.spec.id


def fold(text: str) -> str:
    """`text` lowercased with every offset kept: `str.lower` lengthens some characters (U+0130), which
    would shift every keyword position after them; all keywords are ASCII, so non-ASCII becomes `?`."""
    if text.isascii():
        return text.lower()
    return text.encode("ascii", "replace").decode("ascii").lower()


def value_span(match: re.Match[str]) -> tuple[int, int]:
    """The part of a match to redact: its value group if it has one, else all of it."""
    groups = match.re.groupindex
    for name in VALUE_GROUPS:
        if name in groups and match.group(name) is not None:
            return match.span(name)
    return match.span()


# --- boundedness ---------------------------------------------------------------------------------------


def _max_width(parsed: Any) -> int:
    lo_hi = parsed.getwidth()
    return int(lo_hi[1])


def check_bounded(pattern: str) -> int:
    """Raise RuleError unless every repetition in `pattern` is capped and none is nested in another;
    returns the longest match the pattern can make."""
    try:
        import re._parser as sre_parse  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse
    import re._constants as c  # type: ignore[import-not-found]

    def walk(items: Any, inside_repeat: bool) -> None:
        for op, arg in items:
            if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                _low, high, sub = arg
                if high == c.MAXREPEAT or high > MAX_REPEAT:
                    raise RuleError("unbounded repetition")
                if inside_repeat and high > 1:
                    raise RuleError("nested repetition")
                walk(sub, inside_repeat or high > 1)
            elif op == c.GROUPREF or op == c.GROUPREF_EXISTS:
                raise RuleError("backreference")
            elif op == c.SUBPATTERN:
                walk(arg[-1], inside_repeat)
            elif op == c.BRANCH:
                for branch in arg[1]:
                    walk(branch, inside_repeat)
            elif op in (c.ASSERT, c.ASSERT_NOT):
                walk(arg[1], inside_repeat)
            elif op == c.ATOMIC_GROUP:
                walk(arg, inside_repeat)

    parsed = sre_parse.parse(pattern)
    walk(parsed, False)
    width = _max_width(parsed)
    if width >= c.MAXREPEAT:
        raise RuleError("unbounded width")
    return width


# --- checks --------------------------------------------------------------------------------------------


def entropy(value: str) -> float:
    """Shannon entropy of `value` in bits per character."""
    if not value:
        return 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(k / n * math.log2(k / n) for k in counts.values())


def _classes(value: str) -> int:
    return sum(
        (
            any(ch.islower() for ch in value),
            any(ch.isupper() for ch in value),
            any(ch.isdigit() for ch in value),
        )
    )


_HEX = re.compile(r"[0-9a-fA-F-]{1,4096}")


def _make_check(spec: RuleSpec) -> Callable[[re.Match[str], int, int], bool]:
    checks = spec.checks

    def check(match: re.Match[str], start: int, end: int) -> bool:
        value = match.string[start:end]
        if checks.entropy is not None and entropy(value) < checks.entropy:
            return False
        if checks.classes is not None and _classes(value) < checks.classes:
            return False
        if checks.not_hex and _HEX.fullmatch(value):
            return False
        if checks.decodes == "base64-pair" and not namebound.decodes_to_pair(value):
            return False
        if checks.env_name and not namebound.secret_name(match.group("envname")):
            return False
        return not (checks.name_bound and not namebound.plausible_range(match, start, end))

    return check


# --- the engine ----------------------------------------------------------------------------------------


@dataclass
class _Scanner:
    """Finds every keyword (and prefilter expression) of every rule in one pass."""

    rules: tuple[CompiledRule, ...]
    use_hyperscan: bool
    # expression id -> (rule index, keyword length, or -1 when the expression reports its start)
    table: list[tuple[int, int]] = field(default_factory=list)
    keywords: list[tuple[int, str]] = field(default_factory=list)
    _db: Any = None
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        expressions: list[bytes] = []
        flags: list[int] = []
        for index, rule in enumerate(self.rules):
            if rule.prefilter is not None:
                at_end = rule.start_of is not None
                self.table.append((index, -2 if at_end else -1))
                expressions.append(rule.spec.prefilter.encode("ascii"))  # type: ignore[union-attr]
                flags.append(0 if at_end else _HS_SOM)
            for keyword in rule.spec.keywords:
                self.table.append((index, len(keyword)))
                self.keywords.append((index, keyword.lower()))
                expressions.append(re.escape(keyword.lower()).encode("ascii"))
                flags.append(_HS_CASELESS)
        if self.use_hyperscan and HAVE_HYPERSCAN:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(
                expressions=expressions,
                ids=list(range(len(expressions))),
                elements=len(expressions),
                flags=flags,
            )
            self._db = db
        else:
            self.use_hyperscan = False

    def candidates(self, text: str) -> list[list[int]]:
        """For each rule, the positions where a match of it may start (unsorted, may repeat); for a rule
        whose prefilter is anchored at its end, `~end` of each prefilter match instead."""
        found: list[list[int]] = [[] for _ in self.rules]
        if self.use_hyperscan:
            data = text.encode("ascii", "replace")  # one byte per code point: offsets stay the str's
            table = self.table

            def on_match(id_: int, start: int, end: int, _flags: int, _ctx: object) -> bool | None:
                index, width = table[id_]
                found[index].append(end - width if width >= 0 else start if width == -1 else ~end)
                return None

            scratch = getattr(self._local, "scratch", None)
            if scratch is None:
                scratch = hyperscan.Scratch(self._db)
                self._local.scratch = scratch
            self._db.scan(data, match_event_handler=on_match, scratch=scratch)
            return found
        folded = fold(text)
        for index, keyword in self.keywords:
            pos = folded.find(keyword)
            while pos >= 0:
                found[index].append(pos)
                pos = folded.find(keyword, pos + 1)
        for index, rule in enumerate(self.rules):
            if rule.prefilter is not None:
                if rule.start_of is not None:
                    found[index].extend(~m.end() for m in rule.prefilter.finditer(text))
                else:
                    found[index].extend(m.start() for m in rule.prefilter.finditer(text))
        return found


_HS_CASELESS = 1  # hyperscan.HS_FLAG_CASELESS, also when hyperscan is absent
_HS_SOM = 256  # hyperscan.HS_FLAG_SOM_LEFTMOST


class RuleSet:
    """The compiled rules and their scanner."""

    def __init__(self, specs: tuple[RuleSpec, ...], *, use_hyperscan: bool = True) -> None:
        seen: set[str] = set()
        compiled: list[CompiledRule] = []
        for spec in specs:
            if spec.id in seen:
                raise RuleError(f"duplicate rule id {spec.id}")
            seen.add(spec.id)
            if not spec.keywords and spec.prefilter is None:
                raise RuleError(f"rule {spec.id}: needs keywords or a prefilter")
            if any(not k.isascii() or len(k) < 2 for k in spec.keywords):
                raise RuleError(f"rule {spec.id}: keywords must be ASCII, 2 characters or more")
            if spec.prefilter_anchor == "end" and not spec.prefilter:
                raise RuleError(f"rule {spec.id}: prefilter_anchor end needs a prefilter")
            if spec.prefilter_anchor == "end" and spec.id not in namebound.STARTS:
                raise RuleError(f"rule {spec.id}: no way to find its start from its end")
            if spec.checks.name_bound and not {"rest", "sep"} <= set(re.compile(spec.pattern).groupindex):
                raise RuleError(f"rule {spec.id}: a name-bound pattern needs groups `rest` and `sep`")
            try:
                max_len = check_bounded(spec.pattern)
                if spec.back and max_len > 8192:
                    raise RuleError("a rule that starts before its keyword must match at most 8192 chars")
                prefilter = None
                if spec.prefilter is not None:
                    check_bounded(spec.prefilter)
                    prefilter = re.compile(spec.prefilter)
                regex = re.compile(spec.pattern)
            except (RuleError, re.error) as exc:
                raise RuleError(f"rule {spec.id}: {exc}") from None
            compiled.append(
                CompiledRule(
                    spec=spec,
                    regex=regex,
                    prefilter=prefilter,
                    max_len=max_len,
                    check=_make_check(spec),
                    span=namebound.SPANS.get(spec.id, value_span),
                    start_of=namebound.STARTS.get(spec.id) if spec.prefilter_anchor == "end" else None,
                )
            )
        self.rules: tuple[CompiledRule, ...] = tuple(compiled)
        self.by_id = {rule.id: rule for rule in self.rules}
        self._scanner = _Scanner(self.rules, use_hyperscan=use_hyperscan)

    @property
    def engine(self) -> str:
        return "hyperscan" if self._scanner.use_hyperscan else "str.find"

    def matches(self, text: str) -> Iterator[tuple[CompiledRule, int, int]]:
        """(rule, start, end) of every secret part that passes its rule's checks, rule by rule."""
        for rule, starts in zip(self.rules, self._scanner.candidates(text), strict=True):
            if not starts:
                continue
            for match in _rule_matches(rule, text, starts):
                start, end = rule.span(match)
                if end > start and rule.check(match, start, end):
                    yield rule, start, end

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, rule id) of every secret part found in `text`."""
        return [(start, end, rule.id) for rule, start, end in self.matches(text)]

    def any_match(self, text: str) -> bool:
        return next(iter(self.matches(text)), None) is not None


def _rule_matches(rule: CompiledRule, text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    end = -1
    back = rule.spec.back
    regex = rule.regex
    if rule.start_of is not None:
        start_of = rule.start_of
        starts = [start for start in (start_of(text, ~end) for end in starts) if start >= 0]
    for pos in sorted(set(starts)):
        if pos < end:
            continue
        if back:
            lo = max(pos - back, end, 0)
            match = regex.search(text, lo, min(len(text), pos + rule.max_len + 1))
            if match is not None and match.start() > pos:
                match = None
        else:
            match = regex.match(text, pos)
        if match is not None:
            end = max(match.end(), pos + 1)
            yield match


def _rule_files() -> list[tuple[str, str]]:
    folder = resources.files(__package__).joinpath("rules")
    return sorted((p.name, p.read_text("utf-8")) for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_ruleset(*, use_hyperscan: bool = True) -> RuleSet:
    """Load, validate and compile `rules/*.yaml` (in file-name order)."""
    specs: list[RuleSpec] = []
    for name, text in _rule_files():
        data = yaml.safe_load(text)
        try:
            specs.extend(RuleFile.model_validate(data).rules)
        except ValueError as exc:
            raise RuleError(f"{name}: {exc}") from None
    return RuleSet(tuple(specs), use_hyperscan=use_hyperscan)


@functools.cache
def ruleset() -> RuleSet:
    """The shipped rule set, loaded once."""
    return load_ruleset()
