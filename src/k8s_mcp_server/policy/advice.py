"""What a guarded-flag refusal tells the caller to do instead, fitting the flag they wrote.

A guarded name is either a real flag of the CLI, whose kind (`cred`, `file`, `exec`, `net`, `dbg`) the
reviewed overlay states beside it (parse/overlay/*.yaml: `- kubeconfig  # cred`), or a name an
analyzer records for something that is not a flag (helm's local chart `chart-path`, kubectl's
`output` for a template file): those have their own words here. Never the value the caller wrote.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

# `    - name  # kind` in a flags.guarded list of an overlay
_TAGGED = re.compile(r"^\s+- ([A-Za-z0-9-]+)\s+#\s*(cred|file|exec|net|dbg)\b", re.MULTILINE)

_KIND = {
    "cred": "it chooses the cluster or the identity, which here come only from the kubeconfig the request "
    "sends (X-Kubeconfig header): drop the flag",
    "file": "it names a file or directory on the proxy's host, not on yours: drop the flag",
    "exec": "it runs a program on the proxy's host: drop the flag",
    "net": "it makes the proxy reach an address the caller chooses: drop the flag",
    "dbg": "its debug output can print credentials: drop the flag",
}
_REPO = "use a chart from a repository the server has configured (`REPO/CHART`)"
# names recorded by the analyzers (parse/tools.py EXTRA_GUARDED): (tool or "*", name) -> (what, advice)
_NOT_FLAGS: dict[tuple[str, str], tuple[str, str]] = {
    ("helm", "chart-path"): (
        "a chart given as a local path",
        f"it would read (or write) the proxy's own files, not yours: {_REPO}",
    ),
    ("helm", "chart-url"): (
        "a chart or registry given by URL (oci://, https://, ...)",
        f"it makes the proxy fetch from an address the caller chooses: {_REPO}",
    ),
    ("helm", "repo-url"): (
        "a repository address",
        "the proxy would contact an address the caller chooses: ask the operator to add the repository "
        "on the server",
    ),
    ("*", "output"): (
        "an output format that reads a template file (-o go-template-file, jsonpath-file, ...)",
        "the file would be read on the proxy's host: put the template inline (-o jsonpath='{...}', "
        "-o go-template='{{...}}') or use -o json | jq",
    ),
    ("*", "filename"): (
        "a local file (-f/--filename)",
        "it names a file on the proxy's host, not on yours: give the objects in the command itself "
        "(kubectl create/set/patch) or ask for a policy that allows it",
    ),
    ("kubectl", "kustomize"): (
        "a local kustomization (-k/--kustomize)",
        "it names a directory on the proxy's host, not on yours",
    ),
    ("kubectl", "v"): (
        "a verbosity above -v=4",
        "from -v=5 on kubectl logs request bodies and bearer tokens: use -v=4 or less",
    ),
    ("argocd", "server"): (
        "--server",
        "argocd reaches the Argo CD the operator configured, or the cluster with --core: drop --server",
    ),
}


@cache
def _kinds() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for tool in ("kubectl", "helm", "istioctl", "argocd"):
        text = resources.files("k8s_mcp_server.parse").joinpath("overlay", f"{tool}.yaml").read_text()
        for name, kind in _TAGGED.findall(text):
            found[(tool, name)] = kind
    return found


def guarded_refusal(tool: str, names: list[str], rule: str) -> str:
    """The reason for refusing `names` (sorted guarded names, without dashes) of one `tool` command."""
    parts: list[str] = []
    for name in names:
        special = _NOT_FLAGS.get((tool, name)) or _NOT_FLAGS.get(("*", name))
        kind = _kinds().get((tool, name))
        if special is not None:
            parts.append(f"{special[0]} is refused: {special[1]}")
        elif kind is not None:
            parts.append(f"{tool} flag --{name} is refused: {_KIND[kind]}")
        else:
            parts.append(f"{tool} flag --{name} is refused: it reaches credentials or the proxy's files")
    allow = ", ".join(names)
    return "; ".join(parts) + f" (rule {rule}; a policy can allow it by naming {allow} under flags.allow)"
