"""Properties: total (parse or CommandError, quickly), and refused shell syntax never parses."""

from __future__ import annotations

import shlex
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_mcp_server.contracts import ParsedCommand
from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.parse.shell import split_pipeline
from tests.parse.cases import OK

_SETTINGS = settings(max_examples=300, deadline=None)
_SHELLISH = st.sampled_from(
    [*list(" |;&<>()$`'\"\\*?[]{}~#!=-\n\t\x00"), "get", "pods", "-n", "kubectl", "|"]
)
_ANY_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(_SHELLISH, max_size=40).map("".join),
    st.lists(st.sampled_from([row[1] for row in OK]), min_size=1, max_size=3).map(" ".join),
)
_INJECTIONS = st.sampled_from(
    [
        "; id",
        "&& id",
        "|| id",
        "& id",
        "> /tmp/x",
        "< /etc/passwd",
        "$(id)",
        "`id`",
        "$HOME",
        "${HOME}",
        "<(id)",
        "$'id'",
        "# c",
        "\nid",
        "2>&1",
        "|& id",
        '"$(id)"',
        "a#b",
    ]
)
_UNQUOTED_ROWS = [row for row in OK if not set("'\"\\") & set(row[1])]  # splice between words only
_TOOLS = st.sampled_from(["kubectl", "helm", "istioctl", "argocd"])


def _parse(tool: str, command: str) -> ParsedCommand | None:
    started = time.perf_counter()
    try:
        return parse_command(tool, command)
    except CommandError as error:
        assert error.code == "invalid_command"
        return None
    finally:
        assert time.perf_counter() - started < 2.0


@_SETTINGS
@given(tool=_TOOLS, command=_ANY_TEXT)
def test_any_string_parses_or_is_refused_with_a_code_and_never_hangs(tool: str, command: str) -> None:
    parsed = _parse(tool, command)
    if parsed is not None:
        assert parsed.tool == tool
        assert isinstance(parsed.argv, tuple)


@_SETTINGS
@given(
    row=st.sampled_from(_UNQUOTED_ROWS), injection=_INJECTIONS, where=st.integers(min_value=0, max_value=20)
)
def test_shell_syntax_spliced_into_a_valid_command_is_always_refused(
    row: tuple[str, ...], injection: str, where: int
) -> None:
    tool, command = row[0], row[1]
    words = command.split(" ")
    at = min(where, len(words))
    spliced = " ".join([*words[:at], injection, *words[at:]])
    assert _parse(tool, spliced) is None


@_SETTINGS
@given(
    words=st.lists(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12), min_size=1
    )
)
def test_shell_quoted_words_come_back_exactly(words: list[str]) -> None:
    command = " ".join(shlex.quote(word) for word in words)
    try:
        argv = split_pipeline(command, max_length=10_000)
    except CommandError:
        return  # refusing is allowed (e.g. a reserved word such as `then` first); misreading is not
    assert argv == (tuple(words),)
