"""PolicyStore: fail closed at start, swap on change, keep the last good policy on a bad change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.policy import PolicyStore

GOOD = "version: 1\nrules: [{id: reads, effect: allow, verbs: [get]}]\n"
OTHER = "version: 1\nmode: dry-run\nrules: [{id: reads2, effect: allow, verbs: [get]}]\n"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str, bump: int) -> None:
    """Write and move mtime forward, so a same-size rewrite in the same tick is still seen."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Clock, PolicyStore]:
    path = tmp_path / "policy.yaml"
    write(path, GOOD, 0)
    clock = Clock()
    return path, clock, PolicyStore(path, check_interval=1.0, clock=clock)


def test_a_changed_file_is_swapped_in_after_the_interval(setup: tuple[Path, Clock, PolicyStore]) -> None:
    path, clock, store = setup
    first = store.current()
    write(path, OTHER, 1)
    assert store.current() is first  # within the interval: no stat
    clock.now += 1.0
    swapped = store.current()
    assert swapped is not first
    assert swapped.mode == "dry-run" and swapped.revision != first.revision
    assert store.last_error is None


def test_an_unchanged_file_is_not_reloaded(setup: tuple[Path, Clock, PolicyStore]) -> None:
    _, clock, store = setup
    first = store.current()
    clock.now += 5
    assert store.current() is first


def test_an_invalid_new_file_keeps_the_last_good_policy(setup: tuple[Path, Clock, PolicyStore]) -> None:
    path, clock, store = setup
    first = store.current()
    loaded_at = store.loaded_at
    write(path, "version: 1\nmode: enforse\n", 1)
    clock.now += 1
    assert store.current() is first
    assert store.last_error is not None and "did you mean 'enforce'?" in store.last_error
    assert store.loaded_at == loaded_at
    write(path, OTHER, 2)  # a fix clears the error
    clock.now += 1
    assert store.current().mode == "dry-run"
    assert store.last_error is None


def test_a_deleted_file_keeps_the_last_good_policy(setup: tuple[Path, Clock, PolicyStore]) -> None:
    path, clock, store = setup
    first = store.current()
    path.unlink()
    clock.now += 1
    assert store.current() is first
    assert store.last_error is not None and "cannot read" in store.last_error


def test_an_atomic_rename_is_seen(setup: tuple[Path, Clock, PolicyStore]) -> None:
    path, clock, store = setup
    staged = path.with_name("staged.yaml")
    staged.write_text(GOOD.replace("reads", "renamed"))  # same size, new inode
    os.replace(staged, path)
    clock.now += 1
    assert store.current().rules[0].id == "renamed"


def test_reload_checks_now_whatever_the_interval(setup: tuple[Path, Clock, PolicyStore]) -> None:
    path, _, store = setup
    write(path, OTHER, 1)
    assert store.reload().mode == "dry-run"


def test_an_invalid_file_at_start_raises(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 3\n")
    with pytest.raises(PolicyError) as caught:
        PolicyStore(path)
    assert caught.value.problems[0].startswith(f"{path}:1:10: version must be 1")


def test_a_missing_file_at_start_raises(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        PolicyStore(tmp_path / "absent.yaml")
