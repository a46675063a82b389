"""helm's analyzer (the command tree, classes and flag tables are in helm_spec.py).

Chart references are resolved the way helm resolves them (see `chart_reference`): paths on the
proxy's host record the guarded name `chart-path`, URLs (`oci://`, `https://`, ...) `chart-url`;
`helm create|package|lint|verify|repo index|dependency` always name a path; repository and registry
addresses (`repo add`, `registry login`) record `repo-url`, `search hub --endpoint` `endpoint`. A
policy allows them only by naming them in `flags.allow`.
"""

from __future__ import annotations

import re

from k8s_mcp_server.parse.facts import Facts, flag_values
from k8s_mcp_server.parse.grammar import Scan
from k8s_mcp_server.parse.helm_spec import ALIASES, SPEC, VERBS

__all__ = ["ALIASES", "SPEC", "VERBS", "analyze"]

_CHART_ARG = {
    "show": 0,
    "template": 1,
    "install": 1,
    "upgrade": 1,
    "lint": 0,
    "package": 0,
    "pull": 0,
    "push": 0,
    "verify": 0,
    "dependency": 0,
}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# `REPO/CHART` as helm resolves it through its configured repositories: one slash, plain names.
_REPO_CHART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*/[A-Za-z0-9_][A-Za-z0-9_.-]*")
_BARE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# Commands whose every positional is a path on the proxy's host (helm reads or writes it there).
_PATH_ARGS = frozenset({"create", "package", "lint", "repo index", "verify"})
_PATH_HEADS = frozenset({"dependency"})


def chart_reference(chart: str, scan: Scan) -> str | None:
    """The guarded name a chart reference needs, or None for a reference helm fetches by repo name.

    helm's LocateChart tries the reference as a path on its own host first (relative to its working
    directory, `..` included), then as `oci://` or another URL, then as `REPO/CHART` through the
    configured repositories. So: a URL reaches the network (`chart-url`, whatever its host: a
    link-local metadata address is a URL too); a `REPO/CHART` of plain names is a repository
    lookup; a bare name is a repository lookup only with `--repo` (itself guarded), else a path; and
    everything else (`/`, `.`, `~`, `file:`, `..`, more than one `/`, odd characters) is a path on
    the server (`chart-path`).
    """
    if _URL.match(chart):
        return "chart-url"
    if _REPO_CHART.fullmatch(chart) and ".." not in chart:
        return None
    if _BARE_NAME.fullmatch(chart) and any(flag_values(scan, "repo")):
        return None
    return "chart-path"


def analyze(scan: Scan) -> Facts:
    """Facts of one helm command: chart paths, URLs and templates are the risky parts."""
    head = scan.path.split(" ")[0]
    guarded: list[str] = []
    index = _CHART_ARG.get(head)
    args = scan.positionals + scan.after_dashes  # helm runs no command after `--`: more positionals
    if head in ("template", "install") and (any(flag_values(scan, "generate-name")) or len(args) == 1):
        index = 0  # `helm template CHART` and `helm install CHART --generate-name` have no NAME
    chart = args[index] if index is not None and index < len(args) else None
    if chart is not None and (needs := chart_reference(chart, scan)) is not None:
        guarded.append(needs)
    if scan.path in _PATH_ARGS or head in _PATH_HEADS:
        guarded.append("chart-path")  # `helm create PATH` writes there; the others read it
    if scan.path == "push" and len(args) > 1:
        guarded.append("chart-url")  # the registry it uploads to
    if scan.path == "registry login" or (scan.path == "repo add" and len(args) > 1):
        guarded.append("repo-url")  # a repository or registry address the server will contact
    return Facts(command_class=VERBS[scan.path], names=args[:1], guarded=tuple(dict.fromkeys(guarded)))
