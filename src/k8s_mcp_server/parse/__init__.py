"""Command string -> ParsedCommand: the shell layer, the tool's grammar, then what it touches.

`parse_command` is pure and cached: the same (tool, command, namespace, ...) returns the same frozen
ParsedCommand. Anything refused raises CommandError (code `invalid_command`) with a message that
says what to change. Guarded flags are recorded, not refused: the policy engine decides.

Output templates (`-o go-template=...`, `--template`) are checked for functions that read the
server's environment (`env`, `expandenv`) and refused if they use them; `*-file` output formats read
a server file and record the guarded name `output`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from k8s_mcp_server.contracts import TOOLS, CommandClass, Flag, ParsedCommand
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse.facts import Facts, flag_on, flag_values, output_format
from k8s_mcp_server.parse.filters import check_filter
from k8s_mcp_server.parse.grammar import Scan, scan
from k8s_mcp_server.parse.resources import CLUSTER_SCOPED
from k8s_mcp_server.parse.shell import split_pipeline
from k8s_mcp_server.parse.tools import ANALYZERS, SPECS

__all__ = ["parse_command"]

_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_WRAPPERS = frozenset(
    [
        "sudo",
        "doas",
        "su",
        "env",
        "command",
        "exec",
        "builtin",
        "nohup",
        "time",
        "nice",
        "ionice",
        "timeout",
        "xargs",
        "busybox",
        "sh",
        "bash",
        "zsh",
        "dash",
        "ksh",
        "eval",
        "watch",
        "strace",
        "stdbuf",
        "chroot",
        "setsid",
    ]
)
_CACHE_SIZE = 1024  # commands are at most max_length characters: the cache stays a few MB


def parse_command(
    tool: str,
    command: str,
    *,
    namespace: str | None = None,
    default_namespace: str = "default",
    max_length: int = 8192,
) -> ParsedCommand:
    """Parse `command` for `tool`'s endpoint; raises CommandError for anything refused."""
    result = _cached(tool, command, namespace, default_namespace, max_length)
    if isinstance(result, CommandError):
        raise CommandError(result.message)  # a fresh exception: no traceback shared between callers
    return result


@lru_cache(maxsize=_CACHE_SIZE)
def _cached(
    tool: str, command: str, namespace: str | None, default_ns: str, max_length: int
) -> ParsedCommand | CommandError:
    """Refusals are cached too, so a repeated bad command costs as little as a repeated good one."""
    try:
        return _parse(tool, command, namespace, default_ns, max_length)
    except CommandError as error:
        return CommandError(error.message)


def _parse(tool: str, command: str, namespace: str | None, default_ns: str, max_length: int) -> ParsedCommand:
    if tool not in SPECS:
        raise CommandError(f"unknown tool '{tool}'; use one of {', '.join(TOOLS)}")
    stages = split_pipeline(command, max_length=max_length)
    argv = _strip_tool(tool, stages[0])
    for stage in stages[1:]:
        check_filter(stage)
    read = scan(argv, SPECS[tool])
    # a help request (`-h`, `--help`, `help CMD`) only prints the CLI's own text: local, whatever it names
    facts = Facts(command_class=CommandClass.LOCAL) if read.help else ANALYZERS[tool](read)
    fmt, fmt_guarded = output_format(read)
    flags = tuple(_flag(spec.name, value) for spec, value in read.flags)
    guarded = {spec.name for spec, _ in read.flags if spec.guarded} | set(facts.guarded) | set(fmt_guarded)
    namespaces, injected = _namespaces(tool, read, facts, namespace, default_ns)
    if injected is not None:
        argv = (f"--namespace={injected}", *argv)
        flags = (Flag(name="namespace", value=injected), *flags)
    return ParsedCommand(
        tool=tool,
        argv=argv,
        verb=read.path,
        command_class=facts.command_class,
        resources=facts.resources,
        names=facts.names,
        namespaces=namespaces,
        cluster_scoped=bool(facts.resources) and all(r in CLUSTER_SCOPED for r in facts.resources),
        flags=flags,
        guarded_flags=tuple(sorted(guarded)),
        output_format=fmt,
        filters=stages[1:],
        prints_objects=facts.prints_objects,
        never_runs=facts.never_runs,
    )


@lru_cache(maxsize=_CACHE_SIZE)
def _flag(name: str, value: str | None) -> Flag:
    """Flags are frozen values: one object per (name, value) spares building it again."""
    return Flag(name=name, value=value)


def _strip_tool(tool: str, argv: tuple[str, ...]) -> tuple[str, ...]:
    first = argv[0]
    if first == tool:
        return argv[1:]
    if first in SPECS:
        raise CommandError(f"this is the {tool} endpoint; send {first} commands to the {first} tool")
    if "/" in first and first.rsplit("/", 1)[-1] in SPECS:
        raise CommandError(
            f"write the tool name without a path ('{first.rsplit('/', 1)[-1]}'), or leave it out"
        )
    if first in _WRAPPERS and SPECS[tool].resolve("", first) is None:
        raise CommandError(f"'{first}' cannot wrap the command; send only the {tool} arguments")
    return argv


def _valid_namespace(value: str, where: str) -> str:
    if not _NAMESPACE.fullmatch(value):
        raise CommandError(
            f"{where} '{value[:64]}' is not a valid namespace name (lower-case letters, digits and '-', "
            "at most 63 characters)"
        )
    return value


def _namespaces(
    tool: str, read: Scan, facts: Facts, requested: str | None, default_ns: str
) -> tuple[tuple[str, ...], str | None]:
    """(namespaces touched, namespace to inject as --namespace or None)."""
    if tool == "argocd":
        if requested is not None:
            raise CommandError(
                "the namespace field is not supported for argocd; use -N/--app-namespace in the command"
            )
        extra = tuple(_valid_namespace(n, "namespace") for n in facts.namespaces)
        return tuple(dict.fromkeys(extra)) or (default_ns,), None
    given = [_valid_namespace(v or "", "namespace") for v in flag_values(read, "namespace")]
    if len(set(given)) > 1:
        raise CommandError(
            f"the command names several namespaces ({', '.join(sorted(set(given)))}); keep one -n"
        )
    every = flag_on(read, "all-namespaces")
    injected = None
    if requested is not None:
        _valid_namespace(requested, "the request's namespace")
        if every:
            raise CommandError(
                "the request names a namespace but the command says --all-namespaces; drop one"
            )
        if given and given[0] != requested:
            raise CommandError(
                f"the command's -n {given[0]} differs from the request's namespace {requested}; align them"
            )
        if not given:
            given, injected = [requested], requested
    main = ("*",) if every else (given[0],) if given else (default_ns,)
    extra = tuple(_valid_namespace(n, "namespace") for n in facts.namespaces)
    return tuple(dict.fromkeys(main + extra)), injected
