"""Shell layer: a command string -> the argv of each `|` stage, or CommandError.

Three independent readings must agree before any argv leaves this module:

1. our own tokenizer, which accepts only plain words, single quotes, double quotes (without `$`,
   backticks or `!`), backslash escapes and `|`; every other shell metacharacter is refused here,
   which also keeps pathological input away from bashlex (it can hang or raise odd exceptions);
2. bashlex, whose tree must be one command or one pipeline of plain words whose source spans
   are exactly our tokens' spans (any expansion node, redirect, list or compound is refused);
3. `shlex` in POSIX mode, which must read each quoted or escaped word's source as our value.

Only printable ASCII is accepted, which rules out control characters, NUL, newlines, tabs,
Unicode look-alikes, bidi controls and zero-width characters in one test.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

import bashlex
import bashlex.ast
from bashlex.parser import _parser as _BashlexParser  # pinned bashlex==0.18

from k8s_mcp_server.errors import CommandError

# Unquoted characters allowed in a word; everything else (`;&<>()$`*?[]{}~#!`...) must be quoted.
_SAFE_UNQUOTED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,@%+^")
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_\-./:=,@%+^]+")
_PLAIN = re.compile(r"[A-Za-z0-9_\-./:=,@%+^ |]*")
_PLAIN_TOKEN = re.compile(r"[^ |]+|\|")
_PRINTABLE = re.compile(r"[ -~]*")
_NO_COMMAND_BEFORE_PIPE = "a '|' has no command before it; write 'TOOL ARGS | FILTER ARGS'"
_EMPTY_OR_TRAILING_PIPE = "the command is empty or ends with '|'; add the command or the filter"
_REFUSED_IN_DOUBLE_QUOTES = {"$": "'$'", "`": "a backtick", "!": "'!'"}
_WHY = {
    ";": "';' (command lists)",
    "&": "'&' ('&&' and background jobs)",
    ">": "redirections ('>')",
    "<": "redirections and here-docs ('<')",
    "(": "subshells and process substitution ('(')",
    ")": "subshells and process substitution (')')",
    "$": "variable expansion and command substitution ('$')",
    "`": "command substitution (backticks)",
    "*": "globs ('*')",
    "?": "globs ('?')",
    "[": "globs ('[')",
    "]": "globs (']')",
    "{": "brace expansion and groups ('{')",
    "}": "brace expansion and groups ('}')",
    "~": "tilde expansion ('~')",
    "#": "comments ('#')",
    "!": "history expansion and negation ('!')",
}


@dataclass(frozen=True)
class _Word:
    value: str
    start: int
    end: int


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


def _tokenize(command: str) -> list[_Word | None]:
    """Words and `None` for each `|`; refuses every construct outside the allowed language."""
    out: list[_Word | None] = []
    i, n = 0, len(command)
    while i < n:
        char = command[i]
        if char == " ":
            i += 1
            continue
        if char == "|":
            if i + 1 < n and command[i + 1] in "|&":
                raise _refuse(f"'|{command[i + 1]}' is not allowed; use a single '|' into a filter")
            out.append(None)
            i += 1
            continue
        start, value = i, []
        while i < n and command[i] not in " |":
            char = command[i]
            if char == "'":
                end = command.find("'", i + 1)
                if end < 0:
                    raise _refuse(f"unterminated single quote at position {i}; close the quote")
                value.append(command[i + 1 : end])
                i = end + 1
            elif char == '"':
                i = _double_quoted(command, i, value)
            elif char == "\\":
                if i + 1 >= n:
                    raise _refuse("the command ends with a backslash; remove it")
                value.append(command[i + 1])
                i += 2
            elif char in _SAFE_UNQUOTED:
                value.append(char)
                i += 1
            else:
                why = _WHY.get(char, repr(char))
                raise _refuse(
                    f"unquoted {why} at position {i} is not allowed: only one command, optionally piped "
                    "into filters, is accepted; quote the character with single quotes if it is data"
                )
        out.append(_Word("".join(value), start, i))
    return out


def _double_quoted(command: str, i: int, value: list[str]) -> int:
    j = i + 1
    while j < len(command):
        char = command[j]
        if char == '"':
            return j + 1
        if char in _REFUSED_IN_DOUBLE_QUOTES:
            raise _refuse(
                f"{_REFUSED_IN_DOUBLE_QUOTES[char]} inside double quotes at position {j} is not allowed "
                "(expansion); use single quotes"
            )
        if char == "\\" and j + 1 < len(command) and command[j + 1] in '"\\':
            value.append(command[j + 1])
            j += 2
            continue
        value.append(char)
        j += 1
    raise _refuse(f"unterminated double quote at position {i}; close the quote")


def _stages(tokens: list[_Word | None]) -> list[list[_Word]]:
    stages: list[list[_Word]] = [[]]
    for token in tokens:
        if token is None:
            if not stages[-1]:
                raise _refuse(_NO_COMMAND_BEFORE_PIPE)
            stages.append([])
        else:
            stages[-1].append(token)
    if not stages[-1]:
        raise _refuse(_EMPTY_OR_TRAILING_PIPE)
    return stages


def _read_first_command(command: str) -> Any:
    """The first top-level node bashlex reads (the whole input, unless something follows it)."""
    return _BashlexParser(command).parse()


def _bashlex_spans(command: str) -> list[list[tuple[int, int]]]:
    """The word spans of each stage as bashlex reads them; refuses anything but plain words."""
    try:
        # bashlex's grammar, without the helpers of bashlex.parse that look for heredocs and parse
        # what follows the first command: our tokenizer has refused `<`, `;`, `&` and newlines, and a
        # first command that ends before the last character is refused just below.
        tree = _read_first_command(command)
    except Exception as exc:  # bashlex raises more than ParsingError; all of it means "refuse"
        raise _refuse(
            f"the command could not be parsed as a simple shell command ({type(exc).__name__})"
        ) from None
    if not isinstance(tree, bashlex.ast.node) or tree.pos[1] < len(command.rstrip(" ")):
        raise _refuse("only one command is accepted per request")
    commands = [tree] if tree.kind == "command" else None
    if tree.kind == "pipeline":
        commands = [p for p in tree.parts if p.kind == "command"]
        pipes = [p for p in tree.parts if p.kind != "command"]
        if any(p.kind != "pipe" or p.pipe != "|" for p in pipes) or len(pipes) != len(commands) - 1:
            raise _refuse("only '|' may join the command and its filters")
    if commands is None:
        raise _refuse(f"shell construct '{tree.kind}' is not allowed; send one plain command")
    spans = []
    for node in commands:
        if any(p.kind != "word" or getattr(p, "parts", None) for p in node.parts):
            raise _refuse("only plain words are allowed (no expansions, assignments or redirections)")
        spans.append([tuple(p.pos) for p in node.parts])
    return spans


def split_pipeline(command: str, *, max_length: int) -> tuple[tuple[str, ...], ...]:
    """The argv of each pipeline stage of `command`; raises CommandError for anything else."""
    if not isinstance(command, str):
        raise _refuse("the command must be a string")
    _check_characters(command, max_length)
    if _PLAIN.fullmatch(command) and "||" not in command:
        return _plain_pipeline(command)
    stages = _stages(_tokenize(command))
    ours = [[(w.start, w.end) for w in stage] for stage in stages]
    if _bashlex_spans(command) != ours:
        raise _refuse("the command reads differently to a shell than to this parser; simplify its quoting")
    for stage in stages:
        for word in stage:
            _cross_check(command[word.start : word.end], word.value)
    return tuple(tuple(w.value for w in stage) for stage in stages)


def _plain_pipeline(command: str) -> tuple[tuple[str, ...], ...]:
    """A command without quotes or escapes: every word is its own source text, so one regex pass
    gives our reading, bashlex's spans must equal it, and shlex has nothing to cross-check."""
    spans: list[list[tuple[int, int]]] = [[]]
    for match in _PLAIN_TOKEN.finditer(command):
        if match.group() == "|":
            spans.append([])
        else:
            spans[-1].append(match.span())
    if not all(spans[:-1]):
        raise _refuse(_NO_COMMAND_BEFORE_PIPE)
    if not spans[-1]:
        raise _refuse(_EMPTY_OR_TRAILING_PIPE)
    if _bashlex_spans(command) != spans:
        raise _refuse("the command reads differently to a shell than to this parser; simplify its quoting")
    return tuple(tuple(command[start:end] for start, end in stage) for stage in spans)


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
