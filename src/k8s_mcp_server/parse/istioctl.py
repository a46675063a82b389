"""istioctl's analyzer, command tree, classes and flag tables (facts + overlay: clispec.py).

Choices: `proxy-config secret` is SENSITIVE_READ; `proxy-config log` and `admin log` are WRITE when
they set levels (`--level`, `--reset`); `dashboard ...` is EXEC (it opens a port-forward);
`create-remote-secret` is CREDENTIAL; `bug-report` is UNKNOWN (it collects cluster-wide data, secrets
included with `--full-secrets`, into a file on the server). Positional file arguments (`analyze
FILE`, `validate FILE`) record the guarded name `filename`, like `-f`.
"""

from __future__ import annotations

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.parse import clispec
from k8s_mcp_server.parse.facts import Facts, flag_on, flag_values
from k8s_mcp_server.parse.grammar import Scan

SPEC = clispec.spec("istioctl")  # data/istioctl.json (generated) + overlay/istioctl.yaml (reviewed)
VERBS = SPEC.verbs
ALIASES = SPEC.aliases


def analyze(scan: Scan) -> Facts:
    """Facts of one istioctl command."""
    cls = VERBS[scan.path]
    if scan.path in ("proxy-config log", "admin log") and (
        any(flag_values(scan, "level"))
        or flag_on(scan, "reset")
        or any(flag_values(scan, "stack-trace-level"))
    ):
        cls = C.WRITE
    guarded = ("filename",) if scan.path in ("analyze", "validate") and scan.positionals else ()
    namespaces = tuple(v for v in flag_values(scan, "istioNamespace") if v)
    return Facts(command_class=cls, names=scan.positionals[:1], namespaces=namespaces, guarded=guarded)
