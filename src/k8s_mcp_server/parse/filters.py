"""Filters allowed after `|`: each has its own flag table, a positional budget and no file access.

Left out on purpose: awk, sed, xargs, tee, sh, python... (run programs or write files) and base64
(would decode Secret values the redactor has masked). Unknown flags are refused, which also refuses
GNU getopt's abbreviated long options (`sort --comp=gzip` means `--compress-program`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse.flags import Table, read_flags, table

_NUMBER = re.compile(r"-[0-9]+")
# jq builtins and directives that read the environment, files or jq's own setup. A name counts only
# in code: not inside a string literal (interpolations `\(...)` are code), a comment, after `.`
# (a field: `.env`, `.spec.containers[].env`), after `$` (a variable) or as an object key
# (`{env: 1}`, `{env}`, which is `{env: .env}`). `$ENV`/`$__loc__` always count, keys included.
_JQ_REFUSED = re.compile(
    r"(?<![\w$.])(env|input_filename|import|include|modulemeta|get_search_list|get_prog_origin|"
    r"get_jq_origin|input_line_number)(?!\w)|\$\s*(ENV|__loc__|__prog_args)(?!\w)"
)
_JQ_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_TABLES: Mapping[str, Table] = MappingProxyType(
    {
        "grep": table(
            "i|ignore-case v|invert-match c|count n|line-number w|word-regexp x|line-regexp "
            "o|only-matching E|extended-regexp F|fixed-strings G|basic-regexp q|quiet s|no-messages "
            "h|no-filename m|max-count= A|after-context= B|before-context= C|context= e|regexp= "
            "color? colour? a|text y"
        ),
        "head": table("n|lines= c|bytes= q|quiet z|zero-terminated"),
        "tail": table("n|lines= c|bytes= q|quiet z|zero-terminated"),
        "wc": table("l|lines w|words c|bytes m|chars L|max-line-length"),
        "sort": table(
            "r|reverse n|numeric-sort h|human-numeric-sort k|key= t|field-separator= u|unique "
            "f|ignore-case b|ignore-leading-blanks V|version-sort M|month-sort g|general-numeric-sort "
            "s|stable d|dictionary-order"
        ),
        "uniq": table(
            "c|count d|repeated u|unique i|ignore-case f|skip-fields= s|skip-chars= w|check-chars="
        ),
        "cut": table(
            "d|delimiter= f|fields= c|characters= b|bytes= s|only-delimited complement output-delimiter="
        ),
        "jq": table(
            "r|raw-output j|join-output c|compact-output e|exit-status S|sort-keys n|null-input "
            "M|monochrome-output C|color-output a|ascii-output tab indent= seq stream R|raw-input "
            "s|slurp raw-output0"
        ),
    }
)
# How many positionals each filter takes: the grep pattern and the jq program; never a file.
_POSITIONALS: Mapping[str, int] = MappingProxyType({"grep": 1, "jq": 1})

FILTERS: frozenset[str] = frozenset(_TABLES)


def _read(argv: tuple[str, ...], program: str) -> tuple[list[str], list[tuple[str, str | None]]]:
    positionals: list[str] = []
    flags: list[tuple[str, str | None]] = []
    i, dashes = 1, False
    while i < len(argv):
        arg = argv[i]
        if dashes or arg == "-" or not arg.startswith("-"):
            positionals.append(arg)
            i += 1
        elif arg == "--":
            dashes, i = True, i + 1
        elif program in ("head", "tail") and _NUMBER.fullmatch(arg):
            flags.append(("lines", arg[1:]))
            i += 1
        elif program == "jq" and arg in ("--arg", "--argjson"):
            if i + 2 >= len(argv):
                raise CommandError(f"jq {arg} needs a name and a value")
            flags.append((arg[2:], argv[i + 2]))
            i += 3
        else:
            reads = list(read_flags(argv, i, _TABLES[program], f"'{program}'"))
            flags.extend((r.spec.name, r.value) for r in reads)
            i += max(r.consumed for r in reads)
    return positionals, flags


def _jq_code(program: str) -> str:
    """`program` with string contents, comments and object-key names blanked (same length): what is
    left is the code jq runs. Interpolations `\\(...)` inside strings stay code."""
    out = list(program)
    # the open brackets (`(`, `[`, `{`, `"` for a string, `i` for an interpolation's `(`), and for
    # each `{`: whether the next token is in key position (after `{` or a `,` at that depth)
    stack: list[str] = []
    key_position: list[bool] = []
    i, n = 0, len(program)
    while i < n:
        char = program[i]
        if stack and stack[-1] == '"':
            if char == "\\" and program[i + 1 : i + 2] == "(":
                out[i] = out[i + 1] = " "
                stack.append("i")
                i += 2
                continue
            if char == '"':
                stack.pop()
            else:
                out[i] = " "
                if char == "\\" and i + 1 < n:
                    out[i + 1] = " "
                    i += 1
            i += 1
            continue
        if char == "#":  # a comment runs to the end of the (single-line) program
            out[i:] = " " * (n - i)
            break
        if char == '"':
            stack.append('"')
        elif char in "([{":
            stack.append(char)
            if char == "{":
                key_position.append(True)
        elif char in ")]}":  # closing an interpolation's `(` returns into its string
            if stack and stack.pop() == "{":
                key_position.pop()
        elif stack and stack[-1] == "{":
            if char == ",":
                key_position[-1] = True
            elif char == ":":
                key_position[-1] = False
            elif key_position[-1] and not char.isspace():
                key = _JQ_KEY.match(program, i)
                if key and program[i - 1 : i] != "$":
                    out[i : key.end()] = " " * (key.end() - i)
                    i = key.end()
                    key_position[-1] = False
                    continue
                key_position[-1] = False
        i += 1
    return "".join(out)


def _check_jq(program: str) -> None:
    found = _JQ_REFUSED.search(program) and _JQ_REFUSED.search(_jq_code(program))
    if found:
        name = found.group(1) or f"${found.group(2)}"
        raise CommandError(f"the jq program uses '{name}', which reads server files or env; remove it")


_EXTRA_CHECKS: Mapping[str, Callable[[list[str], list[tuple[str, str | None]]], None]] = MappingProxyType(
    {"jq": lambda positionals, flags: _check_jq(positionals[0] if positionals else "")}
)


def check_filter(argv: tuple[str, ...]) -> None:
    """Refuse a pipeline stage that is not a known filter used without files or programs."""
    program = argv[0]
    if program not in _TABLES:
        raise CommandError(
            f"'{program}' is not a filter this proxy checks; allowed after '|': {', '.join(sorted(FILTERS))}"
        )
    positionals, flags = _read(argv, program)
    budget = _POSITIONALS.get(program, 0)
    if program == "grep" and any(name == "regexp" for name, _ in flags):
        budget = 0
    if len(positionals) > budget:
        raise CommandError(
            f"'{program}' got {len(positionals)} argument(s), at most {budget} allowed: filters read only "
            "the command's output, never files"
        )
    if budget and not positionals:
        raise CommandError(f"'{program}' needs its pattern or program as the first argument")
    check = _EXTRA_CHECKS.get(program)
    if check is not None:
        check(positionals, flags)
