"""The chart rendered by the pinned helm binary, parsed with yaml.safe_load_all."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.clibin import REPO, pinned_bin

CHART = REPO / "charts" / "k8s-mcp-server"
HELM_TIMEOUT = 60  # helm template/lint of one local chart takes well under a second


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(pinned_bin() / "helm"), *args], capture_output=True, text=True, timeout=HELM_TIMEOUT, check=check
    )


def values_file(tmp: Path, values: dict[str, Any]) -> Path:
    path = tmp / "values.json"  # JSON is YAML: no quoting questions
    path.write_text(json.dumps(values))
    return path


def template_text(tmp: Path, values: dict[str, Any] | None = None, *extra: str) -> str:
    args = ["template", "t", str(CHART), "--namespace", "mcp", *extra]
    if values:
        args += ["-f", str(values_file(tmp, values))]
    return helm(*args).stdout


def render(tmp: Path, values: dict[str, Any] | None = None, *extra: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(template_text(tmp, values, *extra)) if doc]


def one(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in documents if d["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} documents"
    return found[0]


def kinds(documents: list[dict[str, Any]]) -> list[str]:
    return sorted(d["kind"] for d in documents)


IMPERSONATION = {"impersonation": {"enabled": True}}
