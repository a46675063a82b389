"""Golden tables: what each command means, and every evasion that must be refused."""

from __future__ import annotations

import pytest

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command
from tests.parse.cases import OK, REFUSED


@pytest.mark.parametrize(("tool", "command", "verb", "cls", "resources", "namespaces"), OK)
def test_command_is_read_as_the_cli_would(
    tool: str, command: str, verb: str, cls: str, resources: tuple[str, ...], namespaces: tuple[str, ...]
) -> None:
    parsed = parse_command(tool, command)
    assert (parsed.verb, parsed.command_class.value, parsed.resources, parsed.namespaces) == (
        verb,
        cls,
        resources,
        namespaces,
    )


@pytest.mark.parametrize(("tool", "command"), REFUSED)
def test_command_outside_the_language_is_refused_with_a_code(tool: str, command: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(tool, command)
    assert caught.value.code == "invalid_command"
    assert caught.value.message


def test_golden_tables_cover_at_least_two_hundred_rows() -> None:
    assert len(OK) + len(REFUSED) >= 200
