"""The keys file's optional `roles`: approver (decides approvals), auditor, admin; nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_mcp_server.keys import parse_api_keys

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_an_entry_may_carry_roles_and_an_entry_without_them_has_none() -> None:
    text = f"keys:\n  - principal: bob\n    sha256: {DIGEST}\n    roles: [approver]\n"
    text += "  - principal: ci\n    sha256: " + "a" * 64 + "\n"
    bob, ci = parse_api_keys(text.encode(), source=Path("keys.yaml"))
    assert bob.roles == frozenset({"approver"}) and ci.roles == frozenset()


@pytest.mark.parametrize("roles", ["[approvr]", "approver", "[1]"])
def test_an_unknown_role_or_a_role_that_is_not_a_list_is_refused_naming_the_entry(roles: str) -> None:
    text = f"keys:\n  - principal: bob\n    sha256: {DIGEST}\n    roles: {roles}\n"
    with pytest.raises(
        ValueError, match=r"keys\.yaml: keys\[0\]: `roles` must be a list of approver, auditor, admin"
    ):
        parse_api_keys(text.encode(), source=Path("keys.yaml"))
