"""A tool's command tree and the walk that finds the subcommand path the way cobra does.

cobra (the command library of all four CLIs) takes the first non-flag word at each level as a
subcommand name, then lets pflag read every flag with the final command's flag table. We walk
twice: once with each level's own table (only global flags before the first subcommand word),
once with the final command's table, and refuse when the two readings differ, so a flag cannot
mean one thing while we find the subcommand and another when the CLI runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from k8s_mcp_server.contracts import CommandClass
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse.flags import EMPTY, FlagSpec, Table, read_flags


def _no_tables() -> Mapping[str, Table]:
    return MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """Everything the walk needs to know about one CLI."""

    name: str
    verbs: Mapping[str, CommandClass]  # canonical verb path -> class
    aliases: Mapping[str, str]  # "parent path/word" -> canonical word ("/ls" -> "list")
    global_flags: Table
    common_flags: Table = EMPTY
    verb_flags: Mapping[str, Table] = field(default_factory=_no_tables)  # verb path prefix -> overrides
    groups: frozenset[str] = frozenset()  # commands that only hold subcommands (help prints)
    exact: bool = False  # verb_flags holds every command's own full table (generated specs)
    version: str | None = None  # the CLI version the facts were generated from

    def __post_init__(self) -> None:
        parents: dict[str, set[str]] = {}
        for path in self.verbs:
            words = path.split(" ")
            for depth in range(len(words)):
                parents.setdefault(" ".join(words[:depth]), set()).add(words[depth])
        object.__setattr__(self, "_children", {k: frozenset(v) for k, v in parents.items()})
        object.__setattr__(self, "_tables", {})

    def children(self, path: str) -> frozenset[str]:
        found: dict[str, frozenset[str]] = self._children  # type: ignore[attr-defined]
        return found.get(path, frozenset())

    def resolve(self, path: str, word: str) -> str | None:
        """The canonical child of `path` that `word` names (directly or by alias), if any."""
        word = self.aliases.get(f"{path}/{word}", word)
        return word if word in self.children(path) else None

    def flags_for(self, path: str) -> Table:
        """The flag table of the command at `path`: global, common, then the most specific overrides."""
        if not path:
            return self.global_flags
        if self.exact:
            return self.verb_flags.get(path, EMPTY)
        cache: dict[str, Table] = self._tables  # type: ignore[attr-defined]
        if path not in cache:
            cache[path] = self._layered(path)
        return cache[path]

    def _layered(self, path: str) -> Table:
        layers = [self.common_flags]
        words = path.split(" ")
        layers += [
            self.verb_flags[p]
            for d in range(1, len(words) + 1)
            if (p := " ".join(words[:d])) in self.verb_flags
        ]
        return self.global_flags.merged(*layers)


@dataclass(frozen=True, kw_only=True)
class Scan:
    """argv as the CLI reads it: subcommand path, positionals, flags with their values."""

    path: str
    positionals: tuple[str, ...]
    flags: tuple[tuple[FlagSpec, str | None], ...]
    after_dashes: tuple[str, ...]  # positionals after `--`
    shape: tuple[tuple[int, str], ...]  # (argv index, role) for the cross-check of the two walks
    early_flags: int = 0  # flags read before the full subcommand path was known
    values: Mapping[str, tuple[str | None, ...]] = field(default_factory=dict)  # flag name -> values
    help: bool = False  # a help request (`-h`, `--help`, `help CMD`): cobra prints help, runs nothing


def _walk(argv: tuple[str, ...], spec: ToolSpec, fixed: Table | None) -> Scan:
    path: list[str] = []
    positionals: list[str] = []
    after: list[str] = []
    flags: list[tuple[FlagSpec, str | None]] = []
    shape: list[tuple[int, str]] = []
    done = dashes = False
    i = early = 0
    here, kids = "", spec.children("")  # the path so far and its subcommands, updated as it grows
    while i < len(argv):
        arg = argv[i]
        if dashes:
            after.append(arg)
            i += 1
            continue
        if arg == "--":
            if not here or (not done and here not in spec.verbs):
                raise CommandError(f"'--' before the {spec.name} subcommand is not allowed; move it after")
            dashes = done = True
            shape.append((i, "--"))
            i += 1
            continue
        if arg[:1] == "-" and arg != "-":
            table = fixed if fixed is not None else spec.flags_for(here)
            reads = list(read_flags(argv, i, table, _Where(spec.name, here, spec.version)))
            early += 0 if done or (here and not kids) else 1
            flags.extend((r.spec, r.value) for r in reads)
            shape.append((i, "flag:" + ",".join(r.spec.tag for r in reads)))
            i += max(r.consumed for r in reads)
            continue
        if not done and kids:
            child = spec.resolve(here, arg)
            if child is not None:
                path.append(child)
                here = " ".join(path)
                kids = spec.children(here)
                shape.append((i, "verb"))
                i += 1
                continue
            # A word under a command with subcommands must name one, even where the command runs
            # alone (`create -f`): none of those take positionals, so this refuses only typos.
            raise _unknown(spec, here, arg)
        done = True
        positionals.append(arg)
        shape.append((i, "arg"))
        i += 1
    values: dict[str, tuple[str | None, ...]] = {}
    for flag, value in flags:
        values[flag.name] = (*values.get(flag.name, ()), value)
    return Scan(
        values=values,
        path=here,
        positionals=tuple(positionals),
        flags=tuple(flags),
        after_dashes=tuple(after),
        shape=tuple(shape),
        early_flags=early,
    )


class _Where:
    """Where a flag stands, for error messages: rendered only when a flag is refused."""

    __slots__ = ("here", "tool", "version")

    def __init__(self, tool: str, here: str, version: str | None = None) -> None:
        self.tool, self.here, self.version = tool, here, version

    def __str__(self) -> str:
        of = f" {self.version}" if self.version else ""
        if self.here:
            return f"'{self.tool} {self.here}' ({self.tool}{of} has no such flag for this command)"
        return f"'{self.tool}' before the subcommand (put it after the subcommand)"


def _unknown(spec: ToolSpec, here: str, arg: str) -> CommandError:
    known = ", ".join(sorted(spec.children(here)))
    where = f"{spec.name} {here}".strip()
    plugin = " (plugins are not allowed)" if not here and spec.name in ("kubectl", "helm") else ""
    return CommandError(f"unknown subcommand '{arg}' for '{where}'{plugin}; known: {known}")


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def _asks_help(read: Scan) -> bool:
    if read.path == "help" or read.path.startswith("help "):
        return True
    return any(v is None or v in _TRUE for v in read.values.get("help", ()))


def scan(argv: tuple[str, ...], spec: ToolSpec) -> Scan:
    """Read argv as the tool's CLI would; refuses unknown subcommands and flags.

    A help request (`Scan.help`) parses wherever cobra would print help: after any command or
    command group, and alone (`kubectl --help`).
    """
    first = _walk(argv, spec, None)
    if _asks_help(first) and (first.path in spec.verbs or not first.path or spec.children(first.path)):
        return replace(
            _walk(argv, spec, spec.flags_for(first.path)) if first.early_flags else first, help=True
        )
    if not first.path:
        raise CommandError(f"no {spec.name} subcommand given; known: {', '.join(sorted(spec.children('')))}")
    if first.path not in spec.verbs:
        known = ", ".join(sorted(spec.children(first.path)))
        raise CommandError(f"'{spec.name} {first.path}' needs a subcommand: one of {known}")
    if first.early_flags == 0:
        return first  # every flag was already read with the final command's table
    second = _walk(argv, spec, spec.flags_for(first.path))
    if second.shape != first.shape:
        raise CommandError(
            f"a flag before the subcommand reads differently for '{spec.name} {first.path}'; "
            "put the flags after the full subcommand"
        )
    return second
