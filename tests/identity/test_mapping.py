"""The identity map: policies by principal or group, validated, re-read on change, fail closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mcp_server.identity.mapping import (
    IdentityMap,
    IdentityMapUnavailable,
    parse_identity_map,
    policy_for,
)

MAP = b"""\
identities:
  - group: sre
    policy: operator.yaml
  - principal: alice
    policy: /etc/alice.yaml
  - group: dev
    policy: dev.yaml
"""


def test_a_principal_entry_wins_over_groups_and_groups_go_in_file_order(tmp_path: Path) -> None:
    mappings = parse_identity_map(MAP, source=tmp_path / "map.yaml")
    assert policy_for(mappings, "alice", ["sre"]) == Path("/etc/alice.yaml")
    assert policy_for(mappings, "bob", ["dev", "sre"]) == tmp_path / "operator.yaml"
    assert policy_for(mappings, "bob", ["dev"]) == tmp_path / "dev.yaml"
    assert policy_for(mappings, "bob", ["interns"]) is None


@pytest.mark.parametrize(
    "body",
    [
        b"identities: {}",
        b"identities:\n  - principal: a\n",
        b"identities:\n  - principal: a\n    group: b\n    policy: p.yaml\n",
        b"identities:\n  - user: a\n    policy: p.yaml\n",
        b"identities: []\nextra: 1\n",
        b"identities: [",
    ],
)
def test_a_malformed_map_is_refused_with_where_and_what(tmp_path: Path, body: bytes) -> None:
    with pytest.raises(ValueError, match=r"map\.yaml"):
        parse_identity_map(body, source=tmp_path / "map.yaml")


def test_a_broken_change_lets_no_token_caller_in_until_it_is_fixed(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_bytes(MAP)
    store = IdentityMap(path, check_interval=0)
    assert store.policy_for("alice", []) == Path("/etc/alice.yaml")
    path.write_bytes(b"identities:\n  - principal: alice\n")
    with pytest.raises(IdentityMapUnavailable):
        store.policy_for("alice", [])
    assert store.last_error is not None and "identities[0]" in store.last_error
    path.write_bytes(b"identities: []\n")
    assert store.policy_for("alice", []) is None
