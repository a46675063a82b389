"""Properties of parse + decide: total, and shell syntax never reaches an allow, even under permissive."""

from __future__ import annotations

from pathlib import Path

import bashlex
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.policy import evaluate, load_policy
from tests.parse.cases import OK

_PERMISSIVE = load_policy(Path(__file__).resolve().parents[2] / "policies" / "permissive.yaml")
_SETTINGS = settings(max_examples=400, deadline=None)
_TOOLS = st.sampled_from(["kubectl", "helm", "istioctl", "argocd"])
# rows the permissive policy allows: splicing shell syntax into them must turn the allow into a refusal
_ALLOWED_ROWS = [row for row in OK if row[6].split()[2] == "a"]
_FRAGMENTS = st.sampled_from(
    [
        *list(" |;&<>()$`'\"\\*?[]{}~#!=-\n"),
        "$(id)",
        "`id`",
        "${HOME}",
        "$HOME",
        "<(id)",
        ">(id)",
        "2>&1",
        "&&",
        "||",
        "|&",
        ";",
        "a=b ",
        "<<EOF",
        "sh -c ",
        "| sh",
        "| bash",
        "| xargs ",
        "--kubeconfig=/etc/k ",
        "--token=x ",
        "--as=admin ",
        "get ",
        "pods ",
        "-n ",
        "kube-system ",
        "delete ",
        "kubectl ",
    ]
)
_SHELLY = st.one_of(
    st.lists(_FRAGMENTS, min_size=1, max_size=30).map("".join),
    st.tuples(
        st.sampled_from(_ALLOWED_ROWS), st.lists(_FRAGMENTS, min_size=1, max_size=4), st.integers(0, 200)
    ).map(lambda t: t[0][1][: t[2]] + "".join(t[1]) + t[0][1][t[2] :]),
)
_SHELL_NODES = frozenset(
    {
        "operator",
        "redirect",
        "commandsubstitution",
        "processsubstitution",
        "parameter",
        "heredoc",
        "list",
        "compound",
        "reservedword",
        "assignment",
        "function",
        "if",
        "for",
        "while",
        "until",
    }
)


def _shell_syntax(command: str) -> str | None:
    """What bashlex, read independently of our parser, sees as shell syntax here (None: plain words).

    bashlex 0.18 expands partly single-quoted words as if unquoted (it reads `'`id`'x` as a command
    substitution) and loops forever on `'${'x`, so strings with `'` and any of `$`, a backtick, `<`
    or `>` are not shown to it here (tests/parse/test_shell_fuzz.py covers them in bounded
    subprocesses); `~` is literal data to a proxy that runs no shell."""
    if "'" in command and not set(command).isdisjoint("$`<>"):
        return None
    try:
        trees = bashlex.parse(command)
    except Exception as exc:  # bashlex cannot read it: a shell would read something, maybe not this
        return f"unparseable by bashlex ({type(exc).__name__})"
    if len(trees) != 1:
        return "several commands"
    found: list[str] = []

    class Visitor(bashlex.ast.nodevisitor):  # type: ignore[misc]
        def visitnode(self, node: bashlex.ast.node) -> None:
            if node.kind in _SHELL_NODES:
                found.append(node.kind)

    Visitor().visit(trees[0])
    return found[0] if found else None


def _decide(tool: str, command: str) -> str:
    try:
        parsed = parse_command(tool, command)
    except CommandError as error:
        assert error.code == "invalid_command" and error.message
        return "invalid"
    return evaluate(_PERMISSIVE, parsed).outcome


@_SETTINGS
@given(tool=_TOOLS, command=st.one_of(st.text(max_size=120), _SHELLY))
def test_any_string_is_decided_or_refused_with_a_code_never_an_exception(tool: str, command: str) -> None:
    assert _decide(tool, command) in ("invalid", "allow", "deny")


@_SETTINGS
@given(tool=_TOOLS, command=_SHELLY)
def test_a_string_with_shell_syntax_is_never_allowed_even_by_the_permissive_policy(
    tool: str, command: str
) -> None:
    syntax = _shell_syntax(command)
    if syntax is not None or "\n" in command:
        assert _decide(tool, command) != "allow", syntax


@_SETTINGS
@given(
    row=st.sampled_from(_ALLOWED_ROWS),
    injection=st.sampled_from(
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
            "<(id)",
            "$'id'",
            "\nid",
            "2>&1",
            "| sh",
            "| xargs id",
        ]
    ),
    where=st.integers(min_value=0, max_value=20),
)
def test_shell_syntax_spliced_between_the_words_of_an_allowed_command_turns_it_into_a_refusal(
    row: tuple[str, ...], injection: str, where: int
) -> None:
    tool, command = row[0], row[1]
    if set("'\"\\") & set(command):
        return  # a splice inside quotes would be data, not syntax
    words = command.split(" ")
    at = min(where, len(words))
    spliced = " ".join([*words[:at], injection, *words[at:]])
    assert _decide(tool, spliced) == "invalid"
