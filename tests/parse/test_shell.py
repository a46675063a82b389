"""The shell layer: exact argv, three readings that must agree, limits, bashlex failures."""

from __future__ import annotations

import pytest

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command, shell
from k8s_mcp_server.parse.shell import split_pipeline


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

    monkeypatch.setattr(shell.bashlex, "parse", explode)
    with pytest.raises(CommandError, match="could not be parsed"):
        split_pipeline("get pods", max_length=100)


def test_bashlex_reading_different_spans_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shell, "_bashlex_spans", lambda _: [[(0, 3)]])
    with pytest.raises(CommandError, match="reads differently"):
        split_pipeline("get pods", max_length=100)


def test_non_string_command_is_refused() -> None:
    with pytest.raises(CommandError):
        split_pipeline(b"get pods", max_length=100)  # type: ignore[arg-type]


def test_unknown_tool_is_refused() -> None:
    with pytest.raises(CommandError, match="unknown tool"):
        parse_command("oc", "get pods")


def test_repeated_command_returns_the_cached_frozen_result() -> None:
    first = parse_command("kubectl", "get pods -n cache-test")
    assert parse_command("kubectl", "get pods -n cache-test") is first
