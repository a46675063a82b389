"""A tool's ToolSpec built from generated facts (data/TOOL.json) and the security overlay (overlay/TOOL.yaml).

The facts say what the pinned CLI accepts: its commands, aliases and, per command, its own flag set
(written by scripts/gen_cli_data.py, never by hand). The overlay is the reviewed judgement, an
allow-list: a class per command (`group` for commands that only hold subcommands) and a verdict per
flag name (`safe`, `guarded`: recorded for the policy, which must name it; `refused`), with
per-command `exceptions`. Whatever the overlay does not cover fails closed: a command without a
class is not runnable and a flag without a verdict is refused. `problems()` lists every such gap
(and every overlay entry the facts no longer have) for the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from k8s_mcp_server.contracts import CommandClass
from k8s_mcp_server.parse.flags import FlagSpec, Kind, Table
from k8s_mcp_server.parse.grammar import ToolSpec

__all__ = ["Loaded", "grammar_version", "has_grammar", "load", "problems", "spec"]

GROUP = "group"
VERDICTS = ("safe", "guarded", "refused")


@dataclass(frozen=True)
class Loaded:
    tool: str
    version: str
    data: Mapping[str, Any]
    overlay: Mapping[str, Any]
    # the overlay read once: command path -> class, flag name -> verdict, path -> {flag: verdict}
    classes: Mapping[str, str] = field(default_factory=dict)
    verdicts: Mapping[str, str] = field(default_factory=dict)
    exceptions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _read(folder: str, name: str) -> str:
    return resources.files("k8s_mcp_server.parse").joinpath(folder, name).read_text(encoding="utf-8")


@cache
def load(tool: str) -> Loaded:
    data = json.loads(_read("data", f"{tool}.json"))
    overlay = yaml.safe_load(_read("overlay", f"{tool}.yaml"))
    if not isinstance(overlay, dict) or overlay.get("tool") != tool:
        raise ValueError(f"overlay/{tool}.yaml: not an overlay for {tool}")
    raw_exceptions = overlay.get("exceptions") or {}
    return Loaded(
        tool,
        str(data["version"]),
        data,
        overlay,
        classes=_inverted(overlay.get("commands")),
        verdicts=_inverted(overlay.get("flags")),
        exceptions={
            str(p): {str(n): str(v) for n, v in (flags or {}).items()} for p, flags in raw_exceptions.items()
        },
    )


def _inverted(section: Mapping[str, Any] | None) -> dict[str, str]:
    """`{label: [item, ...]}` (an overlay section) as `{item: label}`."""
    return {str(item): str(label) for label, items in (section or {}).items() for item in items or ()}


def verdict(loaded: Loaded, path: str, name: str) -> str:
    """The reviewed verdict of flag `name` on command `path`; `refused` when nobody reviewed it."""
    found = loaded.exceptions.get(path, {}).get(name) or loaded.verdicts.get(name)
    return found if found in VERDICTS else "refused"


def problems(tool: str) -> list[str]:
    """Every gap between the facts and the overlay (empty when the overlay covers exactly the facts)."""
    loaded = load(tool)
    commands: Mapping[str, Any] = loaded.data["commands"]
    classes, verdicts, exceptions = loaded.classes, loaded.verdicts, loaded.exceptions
    out: list[str] = []
    valid = {c.value for c in CommandClass} | {GROUP}
    out += [f"command '{p}' has no class" for p in commands if p and p not in classes]
    out += [f"overlay names command '{p}' the CLI does not have" for p in classes if p not in commands]
    out += [f"command '{p}': unknown class '{c}'" for p, c in classes.items() if c not in valid]
    out += [
        f"group '{p}' has no subcommands"
        for p, c in classes.items()
        if c == GROUP and not commands.get(p, {}).get("subcommands")
    ]
    names = {n for c in commands.values() for n in c["flags"]}
    out += [f"flag --{n} has no verdict" for n in sorted(names - set(verdicts))]
    out += [f"overlay names flag --{n} the CLI does not have" for n in sorted(set(verdicts) - names)]
    out += [f"flag --{n}: unknown verdict '{v}'" for n, v in verdicts.items() if v not in VERDICTS]
    for path, flags in exceptions.items():
        if path not in commands:
            out.append(f"exception for command '{path}' the CLI does not have")
            continue
        for n, v in flags.items():
            if n not in commands[path]["flags"]:
                out.append(f"exception names flag --{n} that '{path}' does not have")
            if v not in VERDICTS:
                out.append(f"exception '{path}' --{n}: unknown verdict '{v}'")
    for key, target in (loaded.overlay.get("aliases") or {}).items():
        parent, _, _word = str(key).partition("/")
        child = f"{parent} {target}".strip()
        if child not in commands:
            out.append(f"alias '{key}' names command '{child}' the CLI does not have")
    return out


_FLAGS: dict[tuple[str, Kind, str | None, bool, bool], FlagSpec] = {}


def _flag(name: str, kind: Kind, short: str | None, guarded: bool, refused: bool) -> FlagSpec:
    key = (name, kind, short, guarded, refused)
    if key not in _FLAGS:
        _FLAGS[key] = FlagSpec(name=name, kind=kind, short=short, guarded=guarded, refused=refused)
    return _FLAGS[key]


def _table(loaded: Loaded, path: str, flags: Mapping[str, Any]) -> Table:
    long: dict[str, FlagSpec] = {}
    short: dict[str, FlagSpec] = {}
    for name, fact in flags.items():
        v = verdict(loaded, path, name)
        flag = _flag(name, Kind(fact["kind"]), fact.get("short"), v == "guarded", v == "refused")
        long[name] = flag
        if flag.short:
            short[flag.short] = flag
    return Table(MappingProxyType(long), MappingProxyType(short))


@cache
def spec(tool: str) -> ToolSpec:
    """The ToolSpec of `tool`: runnable commands with their classes, aliases and exact flag tables."""
    loaded = load(tool)
    commands: Mapping[str, Any] = loaded.data["commands"]
    classes = loaded.classes
    verbs = {p: CommandClass(c) for p, c in sorted(classes.items()) if p in commands and c != GROUP and p}
    groups = frozenset(p for p, c in classes.items() if c == GROUP and p in commands)
    aliases: dict[str, str] = {}
    for path, command in commands.items():
        if path:
            parent = path.rsplit(" ", 1)[0] if " " in path else ""
            word = path.rsplit(" ", 1)[-1]
            aliases.update({f"{parent}/{a}": word for a in command["aliases"]})
    aliases.update({str(k): str(v) for k, v in (loaded.overlay.get("aliases") or {}).items()})
    tables = {p: _table(loaded, p, c["flags"]) for p, c in commands.items()}
    return ToolSpec(
        name=tool,
        verbs=MappingProxyType(verbs),
        groups=groups,
        aliases=MappingProxyType(aliases),
        global_flags=tables[""],
        verb_flags=MappingProxyType(tables),
        exact=True,
        version=loaded.version,
    )


_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def grammar_version(tool: str) -> str:
    """The CLI version the grammar of `tool` was generated from (the data header)."""
    return load(tool).version


def has_grammar(tool: str, banner: str) -> bool:
    """Whether the CLI whose `version` printed `banner` is the one the grammar describes.

    The first `X.Y.Z` in the banner (kubectl `Client Version: v1.32.3`, helm `v3.17.2+g…`, istioctl
    `1.25.2`, argocd `argocd: v2.14.9+…`) must have the data header's major and minor version: patch
    releases keep cobra commands and flags; another minor version may add or drop them. A banner
    without a version has no grammar. For start-up: a configured CLI without one is `tool_unavailable`.
    """
    found, want = _VERSION.search(banner), _VERSION.search(grammar_version(tool))
    return found is not None and want is not None and found.groups()[:2] == want.groups()[:2]
