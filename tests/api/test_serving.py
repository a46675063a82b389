"""The server fits its connection cap into its open-file limit."""

from __future__ import annotations

import resource

import pytest

from k8s_mcp_server.api import serving
from k8s_mcp_server.settings import Settings


def limits(monkeypatch: pytest.MonkeyPatch, soft: int, hard: int) -> list[tuple[int, int]]:
    set_to: list[tuple[int, int]] = []
    monkeypatch.setattr(serving.resource, "getrlimit", lambda _: (soft, hard))
    monkeypatch.setattr(serving.resource, "setrlimit", lambda _, value: set_to.append(value))
    return set_to


def test_the_soft_limit_is_raised_to_what_the_settings_need(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    set_to = limits(monkeypatch, 1024, 1 << 20)
    assert serving.connection_budget(settings) == (settings.max_connections, None)
    assert set_to == [(serving.open_files_needed(settings), 1 << 20)]


def test_a_low_hard_limit_lowers_the_connection_cap_and_says_which_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits(monkeypatch, 600, 600)
    total, warning = serving.connection_budget(Settings())
    assert total == 600 - 16 * 16 - 256
    assert warning is not None and "K8S_MCP_MAX_CONNECTIONS" in warning


def test_an_unlimited_hard_limit_needs_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    limits(monkeypatch, 1024, resource.RLIM_INFINITY)
    assert serving.connection_budget(Settings())[1] is None
