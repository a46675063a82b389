"""Flag tables and a pflag-faithful reader of one flag token (the flag library all four CLIs use).

A table is written as a compact spec string, one flag per entry, separated by whitespace:

    "n|namespace= A|all-namespaces !kubeconfig= dry-run? v|v=!"

- `x|long` gives a one-letter shorthand; `long` alone has none;
- a trailing `=` means the flag takes a value (`--long v`, `--long=v`, `-xv`, `-x=v`, `-x v`);
- a trailing `?` means an optional value: only `--long=v` sets one (pflag's NoOptDefVal);
- no suffix means a boolean (`--long`, `--long=false`);
- a leading `!` marks a guarded flag: one the policy engine refuses unless the policy names it.

The four tools' tables are not written this way any more: clispec.py builds them from the generated
facts and the reviewed overlay (`table()` stays for tests and small fixed tables).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from k8s_mcp_server.errors import CommandError

_BOOL_WORDS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})


class Kind(enum.Enum):
    BOOL = "bool"
    VALUE = "value"
    OPTIONAL = "optional"


@dataclass(frozen=True, kw_only=True)
class FlagSpec:
    name: str
    kind: Kind
    guarded: bool = False
    refused: bool = False  # the CLI has it but the overlay refuses it (see clispec.py)
    short: str | None = None
    tag: str = field(default="", compare=False)  # "name:kind", how the grammar walk records it

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", f"{self.name}:{self.kind.value}")


@dataclass(frozen=True)
class Table:
    """Flags by long name and by shorthand."""

    long: Mapping[str, FlagSpec]
    short: Mapping[str, FlagSpec]

    def merged(self, *others: Table) -> Table:
        """This table with `others` layered on top (later wins)."""
        long, short = dict(self.long), dict(self.short)
        for other in others:
            long.update(other.long)
            short.update(other.short)
        return Table(MappingProxyType(long), MappingProxyType(short))


EMPTY = Table(MappingProxyType({}), MappingProxyType({}))


def table(spec: str) -> Table:
    """Build a Table from the spec string described in the module docstring."""
    long: dict[str, FlagSpec] = {}
    short: dict[str, FlagSpec] = {}
    for entry in spec.split():
        guarded = entry.startswith("!")
        entry = entry.lstrip("!")
        kind = Kind.BOOL
        if entry.endswith("="):
            kind, entry = Kind.VALUE, entry[:-1]
        elif entry.endswith("?"):
            kind, entry = Kind.OPTIONAL, entry[:-1]
        letter, _, name = entry.rpartition("|")
        flag = FlagSpec(name=name, kind=kind, guarded=guarded, short=letter or None)
        long[name] = flag
        if letter:
            short[letter] = flag
    return Table(MappingProxyType(long), MappingProxyType(short))


class Read(NamedTuple):
    """One flag as read: its spec, its value (None when given without one) and tokens consumed."""

    spec: FlagSpec
    value: str | None
    consumed: int


def _bool_value(spec: FlagSpec, value: str) -> str:
    if spec.kind is Kind.BOOL and value not in _BOOL_WORDS:
        raise CommandError(f"flag --{spec.name} is a boolean; '{value}' is not true or false")
    return value


def read_flags(argv: tuple[str, ...], index: int, flags: Table, where: object) -> Iterator[Read]:
    """The flags in argv[index] (several for `-abc`), as pflag reads them; refuses unknown flags.

    `where` names the command in error messages (anything with a str()).
    """
    token = argv[index]
    following = argv[index + 1] if index + 1 < len(argv) else None
    if token.startswith("--"):
        name, eq, value = token[2:].partition("=")
        if not name or name.startswith("-"):
            raise CommandError(f"bad flag syntax '{token}'")
        spec = flags.long.get(name)
        if spec is None:
            raise CommandError(f"unknown flag --{name} for {where}")
        if spec.refused:
            raise CommandError(f"flag --{name} is refused by this proxy (reviewed overlay); leave it out")
        if eq:
            yield Read(spec, _bool_value(spec, value), 1)
        elif spec.kind is not Kind.VALUE:
            yield Read(spec, None, 1)
        elif following is None:
            raise CommandError(f"flag --{name} needs a value")
        else:
            yield Read(spec, following, 2)
        return
    letters = token[1:]
    while letters:
        letter, rest = letters[0], letters[1:]
        spec = flags.short.get(letter)
        if spec is None:
            raise CommandError(f"unknown flag -{letter} for {where}")
        if spec.refused:
            raise CommandError(f"flag -{letter} is refused by this proxy (reviewed overlay); leave it out")
        if rest.startswith("="):
            yield Read(spec, _bool_value(spec, rest[1:]), 1)
            return
        if spec.kind is not Kind.VALUE:
            yield Read(spec, None, 1)
            letters = rest
            continue
        if rest:
            yield Read(spec, rest, 1)
        elif following is None:
            raise CommandError(f"flag -{letter} (--{spec.name}) needs a value")
        else:
            yield Read(spec, following, 2)
        return
