"""The sanitized kubeconfig reads the same to the real kubectl as to us (skipped without kubectl)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from k8s_mcp_server.kubeconfig import KubeconfigPolicy, load_kubeconfig
from tests.kubeconfig.factory import config, encode_yaml

KUBECTL = shutil.which("kubectl")
ODD_NAMES = [
    "no",
    "0x1F",
    "1e3",
    "2001-01-01",
    "null",
    "a: b",
    "'quoted' \"double\"",
    "ünï 名前",
    "#hash",
    "- dash",
]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
@pytest.mark.parametrize("name", ODD_NAMES)
def test_kubectl_reads_the_sanitized_kubeconfig_as_we_wrote_it(tmp_path: Path, name: str) -> None:
    data = config(**{"contexts.0.name": name, "current-context": name, "clusters.0.name": name})
    data["contexts"][0]["context"]["cluster"] = name
    loaded = load_kubeconfig(encode_yaml(data), KubeconfigPolicy())
    path = tmp_path / "config"
    path.write_bytes(loaded.sanitized)
    env = {"KUBECONFIG": str(path), "HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    assert KUBECTL is not None
    result = subprocess.run(
        [KUBECTL, "config", "view", "--raw", "-o", "json"],
        env=env,
        capture_output=True,
        check=True,
        timeout=30,
    )
    seen = json.loads(result.stdout)
    ours = yaml.safe_load(loaded.sanitized)
    for key in ("clusters", "users", "contexts", "current-context"):
        assert seen[key] == ours[key]
    assert seen["current-context"] == name
