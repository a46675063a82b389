#!/usr/bin/env python3
"""Generate the checked-in CLI facts: src/k8s_mcp_server/parse/data/{kubectl,helm,istioctl,argocd}.json.

    .venv/bin/python scripts/gen_cli_data.py [--bin DIR] [--check] [TOOL ...]

Each file holds, per command path ("" is the root), the command's aliases, whether it has
subcommands, and its own effective flag set (local + inherited), each flag with its shorthand and
kind (`bool`, `value`, `optional`: pflag's NoOptDefVal, `--flag` alone is allowed, only
`--flag=v` sets a value), `inherited` when it comes from a parent (global) flag set and
`deprecated` when its help says so. The header names the tool's version and the source's sha256
(the binary, or the reference files).

Sources:
- kubectl v1.32.3 and helm v3.17.2: the pinned binaries (`scripts/cluster.sh install` puts them in
  ~/.cache/k8s-mcp-server/cluster/bin; `--bin` or K8S_MCP_TEST_BIN override). The walk reads
  `CMD --help` of every listed subcommand recursively. kubectl's flags come from each command's
  `Options:` plus `kubectl options` (the global flags every command inherits); helm's from
  `Flags:` and `Global Flags:`.
- kind: a flag shown as a boolean (kubectl `--x=false|true`, helm/pflag: no type word) is `bool`.
  Every other flag is probed, in parallel: `TOOL CMD --help --FLAG` fails with "flag needs an
  argument" for a value flag and prints help for an optional-value one; `--FLAG=zzz` then tells a
  boolean shown with a type word (strconv.ParseBool error) from an optional string. This reads
  pflag's own decision, so kubectl's help template, which hides NoOptDefVal, does not matter.
- istioctl 1.25 and argocd v2.14.9: cannot be installed here, so they come from the upstream
  generated references in ../shared/cli-reference (see its README). argocd's pages show pflag lines
  (NoOptDefVal as `type[="v"]`; none in v2.14.9) but not aliases; istioctl's page shows aliases
  and types but not NoOptDefVal, so a typed istioctl flag is recorded `value`.

What the generator cannot see: hidden commands and hidden or deprecated flags (cobra and pflag
leave them out of help and of the generated references), so they are absent and therefore refused;
cobra's built-in `help` command where a CLI hides it (kubectl): added as `help` with the root's
flags; kubectl's `options` (not in its command list, but every help page names it): added; plugins
(never in the data: refused); for istioctl, NoOptDefVal: the page does not show it, so an
optional-value istioctl flag would be recorded `value` (none is known in 1.25; the analyzers'
positional checks would then see one argument fewer than istioctl);
flag values' meaning (paths, URLs, templates): that is the overlay's and the analyzers' job.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "k8s_mcp_server" / "parse" / "data"
REFERENCE = REPO.parent / "shared" / "cli-reference"
DEFAULT_BIN = Path.home() / ".cache" / "k8s-mcp-server" / "cluster" / "bin"
PINNED = {"kubectl": "v1.32.3", "helm": "v3.17.2", "istioctl": "1.25.2", "argocd": "v2.14.9"}
ISTIO_PAGE = "istioctl/1.25/index.html"
ARGOCD_DIR = "argocd/v2.14.9"

Flag = dict[str, Any]
Command = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# binaries


class Runner:
    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.home = tempfile.mkdtemp(prefix="gen-cli-")
        self.env = {"PATH": self.home, "HOME": self.home, "KUBECONFIG": os.devnull, "LANG": "C"}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - a fixed binary, list argv, no shell
            [str(self.binary), *args], capture_output=True, text=True, env=self.env, timeout=60, check=False
        )


_KUBECTL_FLAG = re.compile(r"^    (?:-(\S), )?--([\w.-]+)=(.*):$")
_PFLAG = re.compile(r"^\s+(?:-(\S), )?--([\w.-]+)(?: (\S+?))?(\[=\"[^\"]*\"\])?(?:\s{2,}|\s*$)")
_SUBCOMMAND = re.compile(r"^  ([a-z][\w-]*)\s{2,}\S")


def _sections(text: str) -> dict[str, list[str]]:
    """Help text split at unindented `Header:` lines."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            current = line.rstrip()[:-1]
            found.setdefault(current, [])
        else:
            found.setdefault(current, []).append(line)
    return found


def _subcommands(sections: dict[str, list[str]]) -> list[str]:
    names: list[str] = []
    for header, lines in sections.items():
        if "Commands" not in header:
            continue
        names += [m.group(1) for line in lines if (m := _SUBCOMMAND.match(line))]
    return names


def _aliases(sections: dict[str, list[str]], name: str) -> list[str]:
    lines = [line.strip() for line in sections.get("Aliases", []) if line.strip()]
    if not lines:
        return []
    words = [w.strip() for w in lines[0].split(",")]
    return sorted(w for w in words if w and w != name)


def _deprecated(description: str) -> bool:
    """A flag whose help says it is deprecated (deprecated flags pflag hides are not seen at all)."""
    return "deprecated" in description.lower()


def _kubectl_flags(lines: list[str]) -> dict[str, Flag]:
    flags: dict[str, Flag] = {}
    for i, line in enumerate(lines):
        m = _KUBECTL_FLAG.match(line)
        if m:
            short, name, default = m.groups()
            kind = "bool" if default in ("true", "false") else "?"
            description = lines[i + 1] if i + 1 < len(lines) else ""
            flags[name] = {"short": short, "kind": kind, "deprecated": _deprecated(description)}
    return flags


def _pflag_flags(lines: list[str]) -> dict[str, Flag]:
    flags: dict[str, Flag] = {}
    for line in lines:
        m = _PFLAG.match(line)
        if m:
            short, name, typ, optional = m.groups()
            kind = "optional" if optional else ("?" if typ else "bool")
            flags[name] = {"short": short, "kind": kind, "deprecated": _deprecated(line[m.end() :])}
    return flags


def _probe(runner: Runner, path: str, name: str) -> str:
    words = path.split()
    bare = runner.run(*words, "--help", f"--{name}")
    if "flag needs an argument" in bare.stderr:
        return "value"
    if bare.returncode != 0:
        raise RuntimeError(f"probe of {path} --{name} failed: {bare.stderr.strip()}")
    typed = runner.run(*words, "--help", f"--{name}=zzz")
    return "bool" if "ParseBool" in typed.stderr else "optional"


def walk_binary(tool: str, binary: Path) -> dict[str, Any]:
    runner = Runner(binary)
    commands: dict[str, Command] = {}
    if tool == "kubectl":
        version = json.loads(runner.run("version", "--client", "-o", "json").stdout)["clientVersion"][
            "gitVersion"
        ]
        global_flags = _kubectl_flags(runner.run("options").stdout.splitlines())
    else:
        version = re.search(r'Version:"([^"]+)"', runner.run("version").stdout).group(1)  # type: ignore[union-attr]
        global_flags = {}
    for flag in global_flags.values():
        flag["inherited"] = True
    pending = [""]
    while pending:
        path = pending.pop()
        words = path.split()
        proc = runner.run(*words, "--help")
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} {path} --help failed: {proc.stderr.strip()}")
        sections = _sections(proc.stdout)
        if tool == "kubectl":
            flags = {n: dict(f) for n, f in global_flags.items()}
            flags.update(_kubectl_flags(sections.get("Options", [])))
            flags.setdefault("help", {"short": "h", "kind": "bool"})
        else:
            flags = _pflag_flags(sections.get("Flags", []))
            for n, f in _pflag_flags(sections.get("Global Flags", [])).items():
                flags.setdefault(n, {**f, "inherited": True})
        subs = _subcommands(sections)
        if tool == "kubectl" and not path:
            subs.append("help")  # cobra's help command, hidden by kubectl's template
            if 'Use "kubectl options"' in proc.stdout:
                subs.append("options")  # not in the command list, named by every help page
        name = words[-1] if words else tool
        commands[path] = {
            "aliases": _aliases(sections, name),
            "subcommands": sorted(set(subs)),
            "flags": flags,
        }
        pending += [f"{path} {sub}".strip() for sub in subs if sub != "help" or path]
    _add_help(commands)

    # An inherited (global) flag is one pflag.Flag shared by every command: probed once, at the root.
    def where(path: str, flag: Flag) -> str:
        return "" if flag.get("inherited") else path

    probes = sorted(
        {(where(p, f), n) for p, c in commands.items() for n, f in c["flags"].items() if f["kind"] == "?"}
    )
    with ThreadPoolExecutor(max_workers=32) as pool:
        kinds = dict(zip(probes, pool.map(lambda pn: _probe(runner, *pn), probes), strict=True))
    for path, command in commands.items():
        for name, flag in command["flags"].items():
            if flag["kind"] == "?":
                flag["kind"] = kinds[(where(path, flag), name)]
    return _document(tool, version, "binary " + binary.name, _sha256(binary.read_bytes()), commands)


# ---------------------------------------------------------------------------------------------
# references


def walk_argocd(folder: Path) -> dict[str, Any]:
    commands: dict[str, Command] = {}
    digest = hashlib.sha256()
    for page in sorted(folder.glob("argocd*.md")):
        text = page.read_text()
        if not text.startswith("# `argocd"):
            continue  # argocd_cli.md (hand-written index), argocd_appset_update.md (stale page)
        digest.update(page.name.encode() + b"\0" + page.read_bytes())
        title = text.splitlines()[0]
        path = title.split("`")[1].removeprefix("argocd").strip()
        own = _fenced(text, "### Options")
        inherited = _fenced(text, "### Options inherited from parent commands")
        flags = _pflag_flags(own)
        for n, f in _pflag_flags(inherited).items():
            flags.setdefault(n, {**f, "inherited": True})
        for f in flags.values():
            if f["kind"] == "?":
                f["kind"] = "value"
        commands[path] = {"aliases": [], "subcommands": [], "flags": flags}
    _link_children(commands)
    _add_help(commands)
    return _document("argocd", PINNED["argocd"], f"reference {ARGOCD_DIR}", digest.hexdigest(), commands)


def _fenced(text: str, header: str) -> list[str]:
    lines = text.splitlines()
    try:
        start = lines.index(header)
    except ValueError:
        return []
    block: list[str] = []
    inside = False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            if inside:
                break
            inside = True
            continue
        if inside:
            block.append(line)
    return block


_H3 = re.compile(r'<h3 id="istioctl[^"]*">istioctl ?([^<]*)</h3>')
_ROW = re.compile(
    r"<tr>\s*<td><code>([^<]*)</code></td>\s*<td>(?:<code>([^<]*)</code>)?</td>\s*<td>(.*?)</td>", re.S
)


def walk_istioctl(page: Path) -> dict[str, Any]:
    text = page.read_text()
    body = text.split('<h2 id="envvars"', 1)[0]
    body = re.split(r"<h2[^>]*>Environment variables", body, maxsplit=1)[0]
    marks = list(_H3.finditer(body))
    chunks = [("", body[: marks[0].start()] if marks else body)]
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        chunks.append((html.unescape(m.group(1)).strip(), body[m.end() : end]))
    commands: dict[str, Command] = {}
    for path, chunk in chunks:
        table_html = chunk.split('<table class="command-flags">', 1)[-1].split("</table>", 1)[0]
        flags: dict[str, Flag] = {}
        for cell, short, description in _ROW.findall(table_html):
            spec = html.unescape(cell).split()
            name = spec[0].removeprefix("--")
            flags[name] = {
                "short": short.removeprefix("-") or None,
                "kind": "value" if len(spec) > 1 else "bool",
                "deprecated": _deprecated(description),
            }
        flags.setdefault("help", {"short": "h", "kind": "bool"})
        aliases: list[str] = []
        alias_div = re.search(r'<div class="aliases">(.*?)</div>', chunk, re.S)
        depth = len(path.split())
        if alias_div:
            for line in html.unescape(re.sub(r"<[^>]+>", "", alias_div.group(1))).splitlines():
                words = line.split()
                if len(words) > depth and words[0] == "istioctl":
                    aliases.append(words[depth])
        name = path.split()[-1] if path else "istioctl"
        commands[path] = {"aliases": sorted(set(aliases) - {name}), "subcommands": [], "flags": flags}
    _link_children(commands)
    _add_help(commands)
    globals_ = set(commands[""]["flags"]) - {"help"}
    for path, command in commands.items():
        for n in globals_ & set(command["flags"]):
            if path:
                command["flags"][n]["inherited"] = True
    return _document(
        "istioctl", PINNED["istioctl"], f"reference {ISTIO_PAGE}", _sha256(page.read_bytes()), commands
    )


def _add_help(commands: dict[str, Command]) -> None:
    """cobra's built-in `help [command]`: a child of the root that takes the root's flags."""
    root = commands[""]
    root["subcommands"] = sorted({*root["subcommands"], "help"})
    flags = {n: {**f, "inherited": True} for n, f in root["flags"].items()}
    commands["help"] = {"aliases": [], "subcommands": [], "flags": flags}


def _link_children(commands: dict[str, Command]) -> None:
    for path in commands:
        if path:
            parent = path.rsplit(" ", 1)[0] if " " in path else ""
            commands.setdefault(parent, {"aliases": [], "subcommands": [], "flags": {}})
            commands[parent]["subcommands"] = sorted({*commands[parent]["subcommands"], path.split()[-1]})


# ---------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _document(tool: str, version: str, source: str, sha: str, commands: dict[str, Command]) -> dict[str, Any]:
    for command in commands.values():
        for flag in command["flags"].values():
            if not flag.get("short"):
                flag.pop("short", None)
            for key in ("inherited", "deprecated"):
                if not flag.get(key):
                    flag.pop(key, None)
    return {
        "tool": tool,
        "version": version,
        "source": source,
        "sha256": sha,
        "generator": "scripts/gen_cli_data.py",
        "commands": {p: commands[p] for p in sorted(commands)},
    }


def render(document: dict[str, Any]) -> str:
    """Stable text: sorted keys, one flag per line."""
    lines = ["{"]
    head = [k for k in document if k != "commands"]
    lines += [f"  {json.dumps(k)}: {json.dumps(document[k])}," for k in head]
    lines.append('  "commands": {')
    paths = list(document["commands"])
    for i, path in enumerate(paths):
        command = document["commands"][path]
        lines.append(f"    {json.dumps(path)}: {{")
        lines.append(f'      "aliases": {json.dumps(command["aliases"])},')
        lines.append(f'      "subcommands": {json.dumps(command["subcommands"])},')
        lines.append('      "flags": {')
        names = sorted(command["flags"])
        for j, name in enumerate(names):
            comma = "," if j < len(names) - 1 else ""
            lines.append(
                f"        {json.dumps(name)}: {json.dumps(command['flags'][name], sort_keys=True)}{comma}"
            )
        lines.append("      }")
        lines.append("    }" + ("," if i < len(paths) - 1 else ""))
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def generate(tool: str, bin_dir: Path, reference: Path = REFERENCE) -> dict[str, Any]:
    if tool in ("kubectl", "helm"):
        return walk_binary(tool, bin_dir / tool)
    if tool == "argocd":
        return walk_argocd(reference / ARGOCD_DIR)
    return walk_istioctl(reference / ISTIO_PAGE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bin", type=Path, default=Path(os.environ.get("K8S_MCP_TEST_BIN") or DEFAULT_BIN))
    parser.add_argument(
        "--check", action="store_true", help="compare with the checked-in files, write nothing"
    )
    parser.add_argument("tools", nargs="*", default=list(PINNED))
    args = parser.parse_args()
    stale = []
    for tool in args.tools:
        document = generate(tool, args.bin)
        if document["version"] != PINNED[tool]:
            print(f"{tool}: version {document['version']} is not the pinned {PINNED[tool]}", file=sys.stderr)
            return 2
        text = render(document)
        target = DATA / f"{tool}.json"
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(tool)
            continue
        DATA.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        n = len(document["commands"])
        pairs = sum(len(c["flags"]) for c in document["commands"].values())
        print(f"{tool} {document['version']}: {n} commands, {pairs} (command, flag) pairs -> {target}")
    if stale:
        print(f"stale: {', '.join(stale)}; run scripts/gen_cli_data.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
