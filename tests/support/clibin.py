"""The pinned kubectl and helm binaries, without starting a cluster (for tests that only read them)."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@cache
def pinned_bin() -> Path:
    """K8S_MCP_TEST_BIN, or the folder `scripts/cluster.sh tools` fetches them into (cached)."""
    given = os.environ.get("K8S_MCP_TEST_BIN")
    if given:
        return Path(given)
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "cluster.sh"), "tools"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return Path(proc.stdout.strip().splitlines()[-1])
