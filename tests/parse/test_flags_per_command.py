"""Acceptance 2 of issue 10: per command, the proxy accepts exactly the flags the CLI accepts.

For every (command, flag) pair in the generated data (parse/data/TOOL.json): a `safe` flag parses,
a `guarded` one parses and is recorded in guarded_flags (the policy must name it), a `refused` one
is refused with invalid_command naming the flag as typed. A flag that another command has but this
one does not (the CLI rejects it: "unknown flag") is refused with invalid_command.

Each command is asked with `--help` as well, so the check is about flags alone (cobra reads every
flag before it prints help, and the analyzers' argument checks do not run for a help request); the
first test also parses each pair without `--help` where the command needs no arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import clispec, parse_command

TOOLS = ("kubectl", "helm", "istioctl", "argocd")
# A value each flag accepts whatever it means (kubectl checks output formats and namespaces).
_VALUES = {"output": "yaml", "o": "yaml", "namespace": "dev", "template": "{{.kind}}", "v": "2"}


def _commands(tool: str) -> dict[str, Any]:
    commands: dict[str, Any] = clispec.load(tool).data["commands"]
    return commands


def _token(name: str, fact: dict[str, Any]) -> str:
    if fact["kind"] == "bool":
        return f"--{name}"
    return f"--{name}={_VALUES.get(name, '1')}"


def _pairs(tool: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, command in _commands(tool).items():
        for name, fact in command["flags"].items():
            yield path, name, fact


def _ask(tool: str, path: str, *tokens: str) -> tuple[str, ...] | CommandError:
    """guarded_flags of `TOOL PATH TOKENS --help`, or the refusal."""
    try:
        parsed = parse_command(tool, " ".join([tool, path, *tokens, "--help"]).replace("  ", " "))
    except CommandError as error:
        return error
    return parsed.guarded_flags


@pytest.mark.parametrize("tool", TOOLS)
def test_every_generated_command_flag_pair_gets_its_overlay_verdict(tool: str) -> None:
    loaded = clispec.load(tool)
    wrong: list[str] = []
    counts = {"safe": 0, "guarded": 0, "refused": 0}
    for path, name, fact in _pairs(tool):
        verdict = clispec.verdict(loaded, path, name)
        counts[verdict] += 1
        forms = [_token(name, fact)]
        if fact.get("short"):
            short = f"-{fact['short']}"
            forms.append(short if fact["kind"] != "value" else f"{short} {_VALUES.get(name, '1')}")
        if fact["kind"] == "optional":
            forms.append(f"--{name}")
        for form in forms:
            got = _ask(tool, path, form)
            if verdict == "refused":
                ok = (
                    isinstance(got, CommandError)
                    and got.code == "invalid_command"
                    and form.split()[0].split("=")[0] in got.message
                )
            elif isinstance(got, CommandError):
                ok = False
            else:
                ok = (name in got) == (verdict == "guarded")
            if not ok:
                wrong.append(f"{tool} {path} {form}: {verdict}, got {got}")
    print(f"\n{tool}: {len(_commands(tool))} commands, {sum(counts.values())} pairs, {counts}")
    assert wrong == []


@pytest.mark.parametrize("tool", TOOLS)
def test_a_flag_the_cli_rejects_for_that_command_is_refused_as_invalid_command(tool: str) -> None:
    commands = _commands(tool)
    every = {n: f for c in commands.values() for n, f in c["flags"].items()}
    letters = {f["short"] for f in every.values() if f.get("short")}
    wrong: list[str] = []
    checked = 0
    for path, command in commands.items():
        own = command["flags"]
        own_letters = {f["short"] for f in own.values() if f.get("short")}
        for name in sorted(set(every) - set(own)):
            checked += 1
            got = _ask(tool, path, _token(name, every[name]))
            if not (isinstance(got, CommandError) and f"--{name}" in got.message):
                wrong.append(f"{tool} {path} --{name}: {got}")
        for letter in sorted(letters - own_letters):
            checked += 1
            got = _ask(tool, path, f"-{letter}")
            if not (isinstance(got, CommandError) and f"-{letter}" in got.message):
                wrong.append(f"{tool} {path} -{letter}: {got}")
    print(f"\n{tool}: {checked} flags of other commands refused")
    assert wrong == []


def test_examples_from_the_issue() -> None:
    with pytest.raises(CommandError, match="--cascade"):
        parse_command("kubectl", "version --cascade")
    with pytest.raises(CommandError, match="--log-file"):
        parse_command("kubectl", "get pods --log-file=/tmp/x")
    with pytest.raises(CommandError, match="--record"):
        parse_command("kubectl", "scale deploy/x --replicas=2 --record")
    with pytest.raises(CommandError, match="--rollback-on-failure"):
        parse_command("helm", "upgrade web ./c --rollback-on-failure")
    assert parse_command("kubectl", "get pods --server-print=false").verb == "get"
    assert parse_command("kubectl", "describe pods --show-events=false").verb == "describe"
    assert parse_command("helm", "lint --quiet repo/chart").verb == "lint"
    labels = parse_command("helm", "install web repo/chart -l team=a")
    assert [(f.name, f.value) for f in labels.flags] == [("labels", "team=a")]
    for command, verb in [
        ("config set-cluster x --insecure-skip-tls-verify", "config set-cluster"),
        ("config unset contexts.x", "config unset"),
        ("config set contexts.x.namespace dev", "config set"),
    ]:
        assert parse_command("kubectl", command).verb == verb
    assert parse_command("helm", "dep up repo/chart").verb == "dependency update"
    assert parse_command("helm", "repo index ./charts").verb == "repo index"


@pytest.mark.parametrize(
    ("tool", "command"),
    [
        ("kubectl", "get pods -h"),
        ("kubectl", "--help"),
        ("kubectl", "help get"),
        ("kubectl", "rollout --help"),
        ("kubectl", "create secret -h"),
        ("helm", "install --help"),
        ("helm", "help install"),
        ("helm", "repo -h"),
        ("istioctl", "proxy-config --help"),
        ("argocd", "app sync -h"),
    ],
)
def test_a_help_request_parses_as_local_and_the_scan_says_so(tool: str, command: str) -> None:
    from k8s_mcp_server.parse.grammar import scan
    from k8s_mcp_server.parse.tools import SPECS

    parsed = parse_command(tool, command)
    assert parsed.command_class == "local"
    assert scan(parsed.argv, SPECS[tool]).help


def test_help_false_is_not_a_help_request() -> None:
    from k8s_mcp_server.parse.grammar import scan
    from k8s_mcp_server.parse.tools import SPECS

    assert not scan(("get", "pods", "--help=false"), SPECS["kubectl"]).help
    assert parse_command("kubectl", "get pods --help=false").command_class == "read"


@pytest.mark.parametrize(
    ("tool", "command"),
    [
        ("kubectl", "--cascade delete pod x"),  # delete has --cascade, the root does not
        ("kubectl", "-o yaml get pods"),
        ("helm", "-o json list"),
        ("argocd", "-o json app list"),
    ],
)
def test_a_flag_before_the_subcommand_is_read_with_the_parents_table(tool: str, command: str) -> None:
    with pytest.raises(CommandError):
        parse_command(tool, command)


@pytest.mark.parametrize(
    ("tool", "command", "verb"),
    [
        ("kubectl", "-n dev get pods", "get"),
        ("helm", "-n dev list", "list"),
        ("istioctl", "-i istio-system proxy-status", "proxy-status"),
    ],
)
def test_a_global_flag_before_the_subcommand_parses(tool: str, command: str, verb: str) -> None:
    assert parse_command(tool, command).verb == verb
