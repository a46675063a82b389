"""A recording argocd stand-in that also records what the connection settings were.

tests/support/standins.py records the environment's variable names only; these tests need the
values that decide where argocd connects: ARGOCD_SERVER, ARGOCD_OPTS, the token (as a SHA-256, never
the value), and the file KUBECONFIG names (its path and content, read while the workspace exists).
With `print-token` among its arguments it prints the token it was given on stdout and stderr, bare and
in base64, so a test can prove the redactor replaces it; otherwise it behaves as the shared stand-in.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from k8s_mcp_server.parse.clispec import grammar_version

_TEMPLATE = """#!{python}
import base64, hashlib, json, os, sys
args = sys.argv[1:]
token = os.environ.get("ARGOCD_AUTH_TOKEN")
kubeconfig = os.environ.get("KUBECONFIG")
content = None
if kubeconfig and os.path.isfile(kubeconfig):
    with open(kubeconfig, encoding="utf-8") as fh:
        content = fh.read()
record = {{
    "argv": args,
    "env": sorted(os.environ),
    "cwd": os.getcwd(),
    "server": os.environ.get("ARGOCD_SERVER"),
    "opts": os.environ.get("ARGOCD_OPTS"),
    "token_sha256": hashlib.sha256(token.encode()).hexdigest() if token else None,
    "kubeconfig": kubeconfig,
    "kubeconfig_content": content,
}}
with open({log!r}, "a") as fh:
    fh.write(json.dumps(record) + "\\n")
if "print-token" in args and token:
    encoded = base64.b64encode(token.encode()).decode()
    print("the token is " + token + " and in base64 " + encoded)
    print("stderr has " + token + " too", file=sys.stderr)
    sys.exit(1)
if args[:1] == ["version"]:
    print({banner!r})  # the version the grammar describes: the stand-in plays that CLI
    sys.exit(0)
print("standin argocd: " + " ".join(args))
"""


def write_argocd_standin(folder: Path) -> tuple[Path, Path]:
    """(the `argocd` executable, the JSON Lines file it records each call to)."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "argocd-calls.jsonl"
    log.touch()
    path = folder / "argocd"
    banner = f"argocd: {grammar_version('argocd')}+standin"
    path.write_text(_TEMPLATE.format(python=sys.executable, log=str(log), banner=banner))
    path.chmod(0o755)
    return path, log


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
