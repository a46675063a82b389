"""API keys: hashes only, constant-time match, loopback-only without keys."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from k8s_mcp_server.api.auth import Authenticator, is_loopback, load_api_keys
from k8s_mcp_server.errors import Unauthenticated


def keys_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "keys.yaml"
    path.write_text(body)
    return path


def test_a_key_maps_to_its_principal_and_a_relative_policy_resolves_next_to_the_keys_file(
    tmp_path: Path,
) -> None:
    digest = hashlib.sha256(b"key-one").hexdigest()
    keys = load_api_keys(
        keys_file(tmp_path, f"keys:\n- principal: ci-bot\n  sha256: {digest}\n  policy: p.yaml\n")
    )
    key = Authenticator(keys).principal("Bearer key-one", "10.0.0.5")
    assert key is not None and key.principal == "ci-bot" and key.policy == tmp_path / "p.yaml"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer wrong", "Basic a2V5LW9uZQ==", "key-one"])
def test_missing_or_wrong_keys_are_unauthenticated(tmp_path: Path, header: str | None) -> None:
    digest = hashlib.sha256(b"key-one").hexdigest()
    auth = Authenticator(load_api_keys(keys_file(tmp_path, f"keys:\n- principal: a\n  sha256: {digest}\n")))
    with pytest.raises(Unauthenticated) as info:
        auth.principal(header, "127.0.0.1")
    assert "key-one" not in info.value.message


def test_without_keys_only_loopback_callers_are_served() -> None:
    auth = Authenticator(())
    assert auth.principal(None, "127.0.0.1") is None
    assert auth.principal(None, "::1") is None
    for remote in ("10.1.2.3", "192.168.0.9", None, "testclient"):
        with pytest.raises(Unauthenticated):
            auth.principal(None, remote)


@pytest.mark.parametrize(
    "body",
    [
        "keys: {}",
        "keys:\n- principal: a\n  sha256: abc\n",
        "keys:\n- sha256: " + "a" * 64 + "\n",
        "keys:\n- principal: a\n  sha256: " + "a" * 64 + "\n  key: plaintext\n",
    ],
)
def test_a_malformed_keys_file_fails_at_start(tmp_path: Path, body: str) -> None:
    with pytest.raises(ValueError):
        load_api_keys(keys_file(tmp_path, body))


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.1") and is_loopback("::1")
    assert not is_loopback("0.0.0.0")  # noqa: S104 - the unspecified address is not loopback
    assert not is_loopback("10.0.0.1") and not is_loopback("")
