"""The shell layer: exact argv, three readings that must agree, limits, bashlex failures."""

from __future__ import annotations

import bashlex
import pytest

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command, shell
from k8s_mcp_server.parse.shell import split_pipeline
from tests.parse.cases import GOLDEN


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("kubectl get pods", ("get", "pods")),
        ("get 'my pod'", ("get", "my pod")),
        ('get "my pod"', ("get", "my pod")),
        ("get my\\ pod", ("get", "my pod")),
        ("get 'a''b'", ("get", "ab")),
        ('get "a\\"b"', ("get", 'a"b')),
        ('get "a\\\\b"', ("get", "a\\b")),
        ('get "a\\nb"', ("get", "a\\nb")),
        ("get ''", ("get", "")),
        ("get 'a;b|c&d$e`f'", ("get", "a;b|c&d$e`f")),
    ],
)
def test_argv_is_exactly_the_words_a_shell_would_pass(command: str, argv: tuple[str, ...]) -> None:
    assert split_pipeline(command, max_length=100)[0][-len(argv) :] == argv


def test_argv_that_runs_is_the_argv_that_was_checked() -> None:
    parsed = parse_command("kubectl", "kubectl get pods -o 'jsonpath={.items[*]}' | grep -c x")
    assert parsed.argv == ("get", "pods", "-o", "jsonpath={.items[*]}")
    assert parsed.pipeline == (("kubectl", "get", "pods", "-o", "jsonpath={.items[*]}"), ("grep", "-c", "x"))


def test_quoted_pipe_is_data_not_a_pipe() -> None:
    assert parse_command("kubectl", "get pods -l 'a|b'").filters == ()


def test_command_longer_than_the_limit_is_refused_before_parsing() -> None:
    with pytest.raises(CommandError, match="limit"):
        parse_command("kubectl", "get pods " + "x" * 100, max_length=50)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\n", "\r", "\t", "\u2028", "\ufeff"])
def test_control_and_invisible_characters_are_refused(char: str) -> None:
    with pytest.raises(CommandError):
        parse_command("kubectl", f"get pods{char}")


def test_any_bashlex_exception_becomes_a_command_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(_: str) -> None:
        raise IndexError("bashlex internal error")

    monkeypatch.setattr(shell, "_read_first_command", explode)
    with pytest.raises(CommandError, match="could not be parsed"):
        split_pipeline("get pods", max_length=100)


def test_a_first_command_that_ends_before_the_input_does_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shell, "_read_first_command", lambda _: bashlex.parse("get")[0])
    with pytest.raises(CommandError, match="only one command"):
        split_pipeline("get pods", max_length=100)


@pytest.mark.parametrize("command", sorted({row.command for row in GOLDEN}))
def test_the_direct_bashlex_reading_is_the_tree_bashlex_parse_returns(command: str) -> None:
    try:
        expected = bashlex.parse(command)
    except Exception:  # bashlex raises many kinds; the direct reading must not yield a command then
        try:
            tree = shell._read_first_command(command)
        except Exception:
            return
        assert not isinstance(tree, bashlex.ast.node)
        return
    if len(expected) == 1:
        assert shell._read_first_command(command).dump() == expected[0].dump()
