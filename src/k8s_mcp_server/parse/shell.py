"""Shell layer: a command string -> the argv of each `|` stage, or CommandError.

No shell ever runs: each stage's argv goes straight to execve. So a character is refused only when
a shell would give it a meaning the caller may have intended (lists, redirections, expansions,
substitutions, comments, keywords); characters a shell would expand but that here reach the CLI
unchanged (`*?[]{}~!`, `$` inside single quotes) are accepted as the literal data they are, and the
argv the policy and the audit see is exactly the argv the CLI receives.

Three independent readings must agree before any argv leaves this module:

1. our own tokenizer, which alone decides the language: plain words (letters, digits,
   `_-./:=,@%+^` and the literal `*?[]{}~!`), single quotes (anything but `'` inside, `$` included),
   double quotes (no `$` or backticks inside), backslash escapes and `|`. It also refuses, as the
   first word of a stage, shell keywords (`!`, `{`, `}`, `[[`, `if`, `time`...) and assignments
   (`NAME=value`), which only a shell would read as grammar;
2. bashlex, shown only the *shape* of the command: every data character (inside quotes, escaped,
   or an unquoted literal) becomes `x` and each run of `x` or of spaces is kept once, so bashlex
   sees nothing but `x`, quotes, backslashes, spaces and `|`: no `$`, backtick, `~`, `<`, `>` or
   anything that nests, hence none of the paths in its word expansion that can loop. Its tree must
   be one command or one pipeline of plain words whose spans are exactly our words' spans in the
   shape. The shape is bounded (at most _MAX_STAGES stages, _MAX_WORDS words, _MAX_SHAPE
   characters), and bashlex's reading of a shape is cached;
3. `shlex` in POSIX mode, which must read each quoted or escaped word's source as our value.

Only printable ASCII is accepted, which rules out control characters, NUL, newlines, tabs,
Unicode look-alikes, bidi controls and zero-width characters in one test.

Why the shape: bashlex 0.18 expands a partly quoted word as if its single quotes were not there
(`subst._expandwordinternal` looks for the closing quote from the opening one, which finds the
opening quote itself), so `'${'x` reaches `_paramexpand`, whose missing `}` moves the scan back to
the start of the word: an endless loop that appends a node per turn (memory grows without bound).
"""

from __future__ import annotations

import re
import shlex
from functools import lru_cache
from typing import Any

import bashlex
import bashlex.ast
from bashlex.parser import _parser as _BashlexParser  # pinned bashlex==0.18

from k8s_mcp_server.errors import CommandError

_MAX_STAGES = 8  # the command and at most seven filters
_MAX_WORDS = 128  # all stages together
_MAX_SHAPE = 1024  # characters of the shape bashlex reads (the command is bounded by max_length)
_SHAPE_CACHE = 4096

_LITERAL = "A-Za-z0-9_\\-./:=,@%+^*?\\[\\]{}~!"
_LITERAL_RUN = re.compile(f"[{_LITERAL}]+")
_PLAIN_WORD = re.compile(f"[{_LITERAL}]+")
_PLAIN = re.compile(f"[{_LITERAL} |]*")
_PLAIN_TOKEN = re.compile(r"[^ |]+|\|")
_DQ_DATA = re.compile(r'[^"\\$`]+')
_SPACES = re.compile(r" +")
_PRINTABLE = re.compile(r"[ -~]*")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^ ]*\])?\+?=")
# Words a shell reads as grammar in command position (bash's reserved words).
_KEYWORDS = frozenset(
    ("!", "{", "}", "[[", "]]", "if", "then", "else", "elif", "fi", "case", "esac", "for", "select",
     "while", "until", "do", "done", "in", "function", "time", "coproc")
)  # fmt: skip
_NO_COMMAND_BEFORE_PIPE = "a '|' has no command before it; write 'TOOL ARGS | FILTER ARGS'"
_EMPTY_OR_TRAILING_PIPE = "the command is empty or ends with '|'; add the command or the filter"
_TOO_MANY_PIECES = (
    f"the command has too many quoted or escaped pieces (its shape is over {_MAX_SHAPE} characters); "
    "simplify its quoting or split it"
)
_READS_DIFFERENTLY = "the command reads differently to a shell than to this parser; simplify its quoting"
_REFUSED_IN_DOUBLE_QUOTES = {"$": "'$'", "`": "a backtick"}
_WHY = {
    ";": "';' (command lists)",
    "&": "'&' ('&&' and background jobs)",
    ">": "redirections ('>')",
    "<": "redirections and here-docs ('<')",
    "(": "subshells and process substitution ('(')",
    ")": "subshells and process substitution (')')",
    "$": "variable expansion and command substitution ('$')",
    "`": "command substitution (backticks)",
    "#": "comments ('#')",
}
_ANSI_C = (
    "ANSI-C quoting ($'...') at position {at} is not supported; write the value in single quotes "
    "('...') instead, and a single quote inside it as '\\'' (close, escaped quote, reopen)"
)
_LOCALE = (
    'locale quoting ($"...") at position {at} is not supported; write the value in single quotes '
    "or in double quotes without the '$'"
)


def _refuse(message: str) -> CommandError:
    return CommandError(message)


def _check_characters(command: str, max_length: int) -> None:
    if len(command) > max_length:
        raise _refuse(f"the command is {len(command)} characters long; the limit is {max_length}")
    if _PRINTABLE.fullmatch(command):
        return
    for index, char in enumerate(command):
        if not (" " <= char <= "~"):
            what = "a newline" if char in "\r\n" else f"the character U+{ord(char):04X}"
            raise _refuse(
                f"the command contains {what} at position {index}; only printable ASCII and spaces "
                "are accepted (one command per request, no control or look-alike characters)"
            )


def _unquoted_refusal(command: str, i: int) -> CommandError:
    char = command[i]
    following = command[i + 1 : i + 2]
    if char == "$" and following == "'":
        return _refuse(_ANSI_C.format(at=i))
    if char == "$" and following == '"':
        return _refuse(_LOCALE.format(at=i))
    why = _WHY.get(char, repr(char))
    return _refuse(
        f"unquoted {why} at position {i} is not allowed: only one command, optionally piped "
        "into filters, is accepted; quote the character with single quotes if it is data"
    )


class _Reading:
    """Our reading of a command: the words of each stage, their sources and the command's shape."""

    __slots__ = ("shape", "sources", "spans", "stages")

    def __init__(self) -> None:
        self.stages: list[list[str]] = [[]]
        self.sources: list[list[tuple[int, int]]] = [[]]
        self.spans: list[list[tuple[int, int]]] = [[]]  # word spans in the shape
        self.shape: list[str] = []  # one character per item, so len() is the shape's length


def _tokenize(command: str) -> _Reading:
    """Our reading; refuses every construct outside the allowed language."""
    out = _Reading()
    shape = out.shape
    i, n, words = 0, len(command), 0
    while i < n:
        char = command[i]
        if char == " ":
            spaces = _SPACES.match(command, i)
            i = spaces.end() if spaces else i + 1
            shape.append(" ")
            continue
        if char == "|":
            if i + 1 < n and command[i + 1] in "|&":
                raise _refuse(f"'|{command[i + 1]}' is not allowed; use a single '|' into a filter")
            if not out.stages[-1]:
                raise _refuse(_NO_COMMAND_BEFORE_PIPE)
            if len(out.stages) >= _MAX_STAGES:
                raise _refuse(f"the command has more than {_MAX_STAGES} stages joined by '|'; use fewer")
            out.stages.append([])
            out.sources.append([])
            out.spans.append([])
            shape.append("|")
            i += 1
            continue
        words += 1
        if words > _MAX_WORDS:
            raise _refuse(f"the command has more than {_MAX_WORDS} words; split it into several commands")
        start, shape_start, value = i, len(shape), []
        while i < n and command[i] not in " |":
            if len(shape) > _MAX_SHAPE:  # a long run of pieces stops here, not at the end
                raise _refuse(_TOO_MANY_PIECES)
            char = command[i]
            if char == "'":
                end = command.find("'", i + 1)
                if end < 0:
                    raise _refuse(f"unterminated single quote at position {i}; close the quote")
                value.append(command[i + 1 : end])
                shape.extend("'x'" if end > i + 1 else "''")
                i = end + 1
            elif char == '"':
                i = _double_quoted(command, i, value, shape)
            elif char == "\\":
                if i + 1 >= n:
                    raise _refuse("the command ends with a backslash; remove it")
                value.append(command[i + 1])
                shape.extend("\\x")
                i += 2
            else:
                run = _LITERAL_RUN.match(command, i)
                if run is None:
                    raise _unquoted_refusal(command, i)
                value.append(run.group())
                if not shape or shape[-1] != "x":  # after `\x`, literals add nothing to the shape
                    shape.append("x")
                i = run.end()
        source = command[start:i]
        if not out.stages[-1]:
            _check_command_position(source)
        out.stages[-1].append("".join(value))
        out.sources[-1].append((start, i))
        out.spans[-1].append((shape_start, len(shape)))
    if not out.stages[-1]:
        raise _refuse(_EMPTY_OR_TRAILING_PIPE if words else "the command is empty; send a command")
    return out


def _check_command_position(source: str) -> None:
    """The first word of a stage: a shell would read keywords and assignments as grammar there."""
    if source in _KEYWORDS:
        raise _refuse(
            f"'{source}' as the first word of a command is shell grammar (negation, groups, keywords); "
            "send one plain command"
        )
    if _ASSIGNMENT.match(source):
        raise _refuse(
            "a command cannot start with an assignment (NAME=value sets a variable in a shell); "
            "send only the command"
        )


def _double_quoted(command: str, i: int, value: list[str], shape: list[str]) -> int:
    shape.append('"')
    data = False
    j, n = i + 1, len(command)
    while j < n:
        char = command[j]
        if char == '"':
            shape.append('"')
            return j + 1
        if char in _REFUSED_IN_DOUBLE_QUOTES:
            raise _refuse(
                f"{_REFUSED_IN_DOUBLE_QUOTES[char]} inside double quotes at position {j} is not allowed "
                "(expansion); use single quotes"
            )
        if char == "\\" and j + 1 < n and command[j + 1] in '"\\':
            value.append(command[j + 1])
            shape.extend(command[j : j + 2])
            data = False
            j += 2
            continue
        if char == "\\":
            value.append(char)
            j += 1
        else:
            run = _DQ_DATA.match(command, j)  # not `"`, `\`, `$` or a backtick: at least one char
            end = run.end() if run else j + 1
            value.append(command[j:end])
            j = end
        if not data:
            shape.append("x")
            data = True
    raise _refuse(f"unterminated double quote at position {i}; close the quote")


def _read_first_command(command: str) -> Any:
    """The first top-level node bashlex reads (the whole input, unless something follows it)."""
    return _BashlexParser(command).parse()


@lru_cache(maxsize=_SHAPE_CACHE)
def _bashlex_spans(shape: str) -> tuple[tuple[tuple[int, int], ...], ...] | str:
    """The word spans of each stage as bashlex reads the shape, or why it is refused.

    Only ever called with a shape: `x`, quotes, backslashes, spaces and `|`, at most _MAX_SHAPE long.
    """
    try:
        # bashlex's grammar, without the helpers of bashlex.parse that look for heredocs and parse
        # what follows the first command: a shape has no `<`, `;`, `&` or newline, and a first
        # command that ends before the last character is refused just below.
        tree = _read_first_command(shape)
    except Exception as exc:  # bashlex raises more than ParsingError; all of it means "refuse"
        return f"the command could not be parsed as a simple shell command ({type(exc).__name__})"
    if not isinstance(tree, bashlex.ast.node) or tree.pos[1] < len(shape.rstrip(" ")):
        return "only one command is accepted per request"
    commands = [tree] if tree.kind == "command" else None
    if tree.kind == "pipeline":
        commands = [p for p in tree.parts if p.kind == "command"]
        pipes = [p for p in tree.parts if p.kind != "command"]
        if any(p.kind != "pipe" or p.pipe != "|" for p in pipes) or len(pipes) != len(commands) - 1:
            return "only '|' may join the command and its filters"
    if commands is None:
        return f"shell construct '{tree.kind}' is not allowed; send one plain command"
    spans = []
    for node in commands:
        if any(p.kind != "word" or getattr(p, "parts", None) for p in node.parts):
            return "only plain words are allowed (no expansions, assignments or redirections)"
        spans.append(tuple((p.pos[0], p.pos[1]) for p in node.parts))
    return tuple(spans)


def _agree(shape: str, spans: list[list[tuple[int, int]]]) -> None:
    """bashlex must read the shape as exactly our words."""
    if len(shape) > _MAX_SHAPE:
        raise _refuse(_TOO_MANY_PIECES)
    theirs = _bashlex_spans(shape)
    if isinstance(theirs, str):
        raise _refuse(theirs)
    if theirs != tuple(tuple(stage) for stage in spans):
        raise _refuse(_READS_DIFFERENTLY)


def split_pipeline(command: str, *, max_length: int) -> tuple[tuple[str, ...], ...]:
    """The argv of each pipeline stage of `command`; raises CommandError for anything else."""
    if not isinstance(command, str):
        raise _refuse("the command must be a string")
    _check_characters(command, max_length)
    if _PLAIN.fullmatch(command) and "||" not in command:
        return _plain_pipeline(command)
    reading = _tokenize(command)
    _agree("".join(reading.shape), reading.spans)
    for stage, sources in zip(reading.stages, reading.sources, strict=True):
        for value, (start, end) in zip(stage, sources, strict=True):
            _cross_check(command[start:end], value)
    return tuple(tuple(stage) for stage in reading.stages)


def _plain_pipeline(command: str) -> tuple[tuple[str, ...], ...]:
    """A command without quotes or escapes: every word is its own source text, so one regex pass
    gives our reading, its shape is `x` per word, and shlex has nothing to cross-check."""
    stages: list[list[str]] = [[]]
    spans: list[list[tuple[int, int]]] = [[]]
    shape: list[str] = []
    words = 0
    for match in _PLAIN_TOKEN.finditer(command):
        word = match.group()
        if word == "|":
            if not stages[-1]:
                raise _refuse(_NO_COMMAND_BEFORE_PIPE)
            if len(stages) >= _MAX_STAGES:
                raise _refuse(f"the command has more than {_MAX_STAGES} stages joined by '|'; use fewer")
            stages.append([])
            spans.append([])
            shape.append("| ")
            continue
        words += 1
        if words > _MAX_WORDS:
            raise _refuse(f"the command has more than {_MAX_WORDS} words; split it into several commands")
        if not stages[-1]:
            _check_command_position(word)
        at = 2 * (words - 1) + 2 * (len(stages) - 1)
        stages[-1].append(word)
        spans[-1].append((at, at + 1))
        shape.append("x ")
    if not stages[-1]:
        raise _refuse(_EMPTY_OR_TRAILING_PIPE if words else "the command is empty; send a command")
    _agree("".join(shape), spans)
    return tuple(tuple(stage) for stage in stages)


def _cross_check(source: str, value: str) -> None:
    """shlex (POSIX) must read a word's source as the same single value; plain words trivially do."""
    if _PLAIN_WORD.fullmatch(source):
        return
    try:
        theirs = shlex.split(source, posix=True)
    except ValueError:
        raise _refuse("the command's quoting could not be read; simplify its quoting") from None
    if theirs != [value] and not (value == "" and theirs == [""]):
        raise _refuse("the command's quoting reads differently to a shell; simplify its quoting")
