"""Policies mounted from a ConfigMap are hot-reloaded: the kubelet updates a ConfigMap volume by
writing a new timestamped folder and swapping the `..data` symlink in one rename, and the policy
store (watched.signature follows the symlinks) sees a new file and loads it. A subPath mount would
never change, which is why the chart mounts the whole folder (tests/charts/test_chart.py)."""

from __future__ import annotations

import os
from pathlib import Path

from k8s_mcp_server.policy import PolicyStore

READS = "version: 1\nrules:\n  - id: reads\n    effect: allow\n    verbs: ['*']\n"
NOTHING = "version: 1\nrules: []\n"
BROKEN = "version: 1\nrulez: []\n"


def kubelet_write(volume: Path, files: dict[str, str], generation: int) -> None:
    """What the kubelet's atomic writer does: ..<ts>/ with the files, ..data -> it, name -> ..data/name."""
    folder = volume / f"..2026_12_02_00_00_0{generation}.000000000"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    tmp_link = volume / "..data_tmp"
    tmp_link.symlink_to(folder.name)
    os.rename(tmp_link, volume / "..data")  # the one atomic step
    for name in files:
        if not (volume / name).is_symlink():
            (volume / name).symlink_to(f"..data/{name}")


def test_a_configmap_update_is_loaded_without_a_restart(tmp_path: Path) -> None:
    kubelet_write(tmp_path, {"default.yaml": READS}, 1)
    store = PolicyStore(tmp_path / "default.yaml")
    first = store.current().revision
    kubelet_write(tmp_path, {"default.yaml": NOTHING}, 2)
    assert store.reload().revision != first
    assert store.last_error is None


def test_a_broken_configmap_update_keeps_the_last_good_policy(tmp_path: Path) -> None:
    kubelet_write(tmp_path, {"default.yaml": READS}, 1)
    store = PolicyStore(tmp_path / "default.yaml")
    good = store.current().revision
    kubelet_write(tmp_path, {"default.yaml": BROKEN}, 2)
    assert store.reload().revision == good
    assert store.last_error is not None and "rulez" in store.last_error
