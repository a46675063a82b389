"""Recording stand-ins for istioctl and argocd, which cannot be installed here.

Each stand-in is a real executable that the server finds exactly as it finds kubectl and helm (a
configured absolute path), runs through the same executor, and whose output goes through the same
redactor. It appends what it was run with (argv, the environment's variable names, cwd) to a JSON
Lines file whose path is baked into the script, since the child's environment is an allow-list.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from k8s_mcp_server.parse.clispec import grammar_version

_TEMPLATE = """#!{python}
import json, os, sys
record = {{"tool": {tool!r}, "argv": sys.argv[1:], "env": sorted(os.environ), "cwd": os.getcwd()}}
with open({log!r}, "a") as fh:
    fh.write(json.dumps(record) + "\\n")
args = sys.argv[1:]
if args[:1] == ["version"]:
    print({banner!r})  # the version the grammar describes: the stand-in plays that CLI
elif "--print-secret" in args:
    # lets a test prove the redactor sees stand-in output: a PEM private key on stdout
    print("-----BEGIN RSA PRIVATE KEY-----")
    print("MIIEowIBAAKCAQEAstandinstandinstandin")
    print("-----END RSA PRIVATE KEY-----")
else:
    print("standin " + {tool!r} + ": " + " ".join(args))
"""


def write_standins(folder: Path) -> Path:
    """Create `istioctl` and `argocd` in `folder`; returns the JSON Lines file they record to."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "standin-calls.jsonl"
    log.touch()
    for tool in ("istioctl", "argocd"):
        path = folder / tool
        banner = f"{tool} version {grammar_version(tool)} (recording stand-in)"
        path.write_text(_TEMPLATE.format(python=sys.executable, tool=tool, log=str(log), banner=banner))
        path.chmod(0o755)
    return log


def recorded_calls(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
