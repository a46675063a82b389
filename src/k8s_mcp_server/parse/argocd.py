"""argocd's analyzer, command tree, classes and flag tables (facts + reviewed overlay: clispec.py).

Choices: `app manifests` and `admin export` are SENSITIVE_READ (rendered Secrets); `login`,
`relogin`, `account generate-token`, `account update-password`, `proj role create-token` and
`admin initial-password` are CREDENTIAL; `admin dashboard` is EXEC; other `admin ...` commands are
UNKNOWN. `login SERVER` records the guarded name `server` like `--server`. The request's namespace
field is not supported for argocd (its namespaces are Application namespaces: use `-N`).
"""

from __future__ import annotations

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.parse import clispec
from k8s_mcp_server.parse.facts import Facts, flag_on, flag_values
from k8s_mcp_server.parse.grammar import Scan

SPEC = clispec.spec("argocd")  # data/argocd.json (generated) + overlay/argocd.yaml (reviewed)
VERBS = SPEC.verbs
ALIASES = SPEC.aliases


def analyze(scan: Scan) -> Facts:
    """Facts of one argocd command."""
    cls = VERBS[scan.path]
    if scan.path == "version" and flag_on(scan, "client"):
        cls = C.LOCAL
    if scan.path == "context" and (scan.positionals or flag_on(scan, "delete")):
        cls = C.WRITE
    guarded = ("server",) if scan.path == "login" and scan.positionals else ()
    namespaces = tuple(
        v for name in ("app-namespace", "dest-namespace", "namespace") for v in flag_values(scan, name) if v
    )
    never = _EDITOR_REASON if scan.path in _EDITOR_VERBS else None
    if never is not None:
        cls = C.EXEC
    return Facts(
        command_class=cls,
        names=scan.positionals[:1],
        namespaces=namespaces,
        guarded=guarded,
        never_runs=never,
    )


# `argocd app edit` and `proj edit` open $EDITOR on the proxy's host, as `kubectl edit` does.
_EDITOR_VERBS = frozenset({"app edit", "proj edit"})
_EDITOR_REASON = (
    "it runs an editor on the proxy's host with the object in a temporary file there; "
    "use 'argocd app set' / 'argocd app patch' or 'argocd proj ...' commands instead"
)
