"""A fast generator of shell-ish command strings for the parser fuzz (tests and bench/bench_fuzz.py).

Hypothesis finds (tests/parse/test_shell_fuzz.py); this generator is for volume: a million inputs
in minutes, from a fixed seed. Each input is a golden command, random words or a hostile run, with
fragments spliced in: quotes of both kinds, `$`, `${`, `$(`, `{`, `(`, backslashes, `|`, the
looping class `'${'x` and long runs of each.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from tests.parse.cases import OK

TOOLS = ("kubectl", "helm", "istioctl", "argocd")
FRAGMENTS = (
    "'",
    '"',
    "$",
    "${",
    "$(",
    "{",
    "}",
    "(",
    ")",
    "\\",
    "|",
    " ",
    "'$'",
    "'${'",
    "'${a",
    "$'",
    '$"',
    "`",
    "*",
    "?",
    "[",
    "]",
    "~",
    "!",
    "#",
    ";",
    "&",
    "<",
    ">",
    "=",
    "-",
    "--",
    "a",
    "x",
    "get",
    "pods",
    "-o",
    "go-template=",
    "{{",
    "}}",
    ".",
    "'{{$n}}'",
    '"a\\"b"',
    "\\'",
    '\\"',
    "''",
    '""',
    "| grep x",
    "| jq .",
    " -n dev",
    "secrets",
    "env",
    "$ENV",
    ".env",
)
LOOPING = ("'${'x", "x'${'", "'${a${a'a", "a'${'b", "'x${'\\\"a", "'}|-oa${\\'get")
RUNS = ("x", "a ", "'a'", "''", '"a"', "\\a", "| a ", "'${'", "${", "{", "(", "$", "\\\\", "' '")


def _golden() -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in OK]


def generate(count: int, seed: int = 0, max_length: int = 8192) -> Iterator[tuple[str, str]]:
    """`count` (tool, command) pairs, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test input, not secrets)
    golden = _golden()
    choice, randrange, random_ = rng.choice, rng.randrange, rng.random
    for _ in range(count):
        roll = random_()
        if roll < 0.45:
            tool, command = choice(golden)
            for _ in range(randrange(1, 4)):
                at = randrange(len(command) + 1)
                command = command[:at] + choice(FRAGMENTS) + command[at:]
        elif roll < 0.75:
            tool = choice(TOOLS)
            command = "".join(choice(FRAGMENTS) for _ in range(randrange(1, 16)))
        elif roll < 0.85:
            tool, command = choice(golden)
            at = randrange(len(command) + 1)
            command = command[:at] + " " + choice(LOOPING) + " " + command[at:]
        else:  # runs: mostly short, one in ten up to the length limit
            tool, run = choice(TOOLS), choice(RUNS)
            limit = max_length if random_() < 0.1 else 64 * len(run)
            run *= randrange(1, limit // len(run) + 1)
            command = choice(("get ", "get pods ", "get '", "")) + run
        yield tool, command[:max_length]
