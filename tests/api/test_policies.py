"""PolicyRegistry: one hot-reloaded store per policy file a key names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k8s_mcp_server.api.policies import PolicyRegistry, PolicyUnavailable
from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.keys import ApiKey
from k8s_mcp_server.policy import PolicyStore
from tests.api.identity_support import READER_POLICY, SCALER_POLICY


def key(principal: str, policy: Path | None) -> ApiKey:
    return ApiKey(principal=principal, sha256=principal.encode().ljust(32, b"\0"), policy=policy)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    default, own = tmp_path / "default.yaml", tmp_path / "own.yaml"
    default.write_text(READER_POLICY)
    own.write_text(SCALER_POLICY)
    return default, own


def test_a_key_without_a_policy_gets_the_default_and_keys_naming_one_file_share_its_store(
    files: tuple[Path, Path],
) -> None:
    default, own = files
    registry = PolicyRegistry(PolicyStore(default))
    assert registry.for_key(None) is registry.default
    assert registry.for_key(key("a", None)) is registry.default
    first, second = registry.for_key(key("a", own)), registry.for_key(key("b", own))
    assert first is second and first.current().revision != registry.default.current().revision
    assert [p.name for p in registry.loaded()] == ["default", str(own)]


def test_a_broken_policy_named_by_a_key_stops_the_start(files: tuple[Path, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrulez: []\n")
    registry = PolicyRegistry(PolicyStore(files[0]))
    with pytest.raises(PolicyError):
        registry.preload((key("a", bad),))


def test_a_missing_policy_refuses_that_key_and_never_falls_back_to_the_default(
    files: tuple[Path, Path],
) -> None:
    registry = PolicyRegistry(PolicyStore(files[0]))
    missing = files[0].parent / "nowhere.yaml"
    with pytest.raises(PolicyUnavailable) as info:
        registry.for_key(key("a", missing))
    assert (info.value.code, info.value.status) == ("policy_unavailable", 503)
    assert missing in registry.failed()


def test_reloads_and_rejected_files_are_reported_to_the_hook(files: tuple[Path, Path]) -> None:
    events: list[tuple[str, bool]] = []
    _, own = files
    registry = PolicyRegistry(PolicyStore(files[0]), on_reload=lambda name, ok: events.append((name, ok)))
    tracked = registry.for_key(key("a", own))
    tracked.store.check_interval = 0
    own.write_text(SCALER_POLICY + "\n# changed\n")
    os.utime(own, ns=(1, 1))  # a different mtime even on coarse clocks
    tracked.current()
    own.write_text("version: 1\nrulez: []\n")
    tracked.current()
    tracked.current()  # the same bad file is reported once
    assert events == [(str(own), True), (str(own), False)]
    assert tracked.describe()["last_error"]
