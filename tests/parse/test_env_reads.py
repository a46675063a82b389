"""jq programs and output templates: only real reads of the server's environment are refused.

A name such as `env` counts in jq only as code (not in a string, a comment, after `.` or `$`, or as
an object key) and in a template only as a function inside `{{ }}` (not in a literal or comment)."""

from __future__ import annotations

import shlex

import pytest

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.parse.facts import check_template
from k8s_mcp_server.parse.filters import check_filter

JQ_DATA = [
    ".items[] | .spec.containers[].env",
    ".env",
    ".a.env",
    '.[] | select(.name == "env")',
    '"env"',
    '"import include input_filename $ENV"',
    "{env: .x}",
    "{env}",
    "{a: 1, env}",
    '{"env": 1}',
    '."env"',
    '.["env"]',
    "$env",
    '"\\"env"',
    ". # env",
    'ltrimstr("include")',
    ".environment",
    "xenv",
    ". as {env: $e} | $e",
    ".[] | select(.env != null) | .env[].name",
]
JQ_READS = [
    "env",
    "env.HOME",
    "$ENV",
    "$ENV.HOME",
    "$ ENV",
    '"\\(env.HOME)"',
    '"a\\(.x | "\\(env)")"',
    "{a: env}",
    "{(env | tostring): 1}",
    "{$ENV}",
    "{$__loc__}",
    "$__loc__",
    "input_filename",
    'import "x" as x; .',
    'include "x"; .',
    "[1, env]",
    "{a: [1, env]}",
    ".x | env",
    "env?",
    "def f: env; f",
    '"#" | env',
    "get_search_list",
    "$__prog_args",
    "input_line_number",
]


@pytest.mark.parametrize("program", JQ_DATA)
def test_a_jq_program_that_only_mentions_env_as_data_passes(program: str) -> None:
    check_filter(("jq", program))
    parsed = parse_command("kubectl", f"get pods -o json | jq {shlex.quote(program)}")
    assert parsed.filters == (("jq", program),)


@pytest.mark.parametrize("program", JQ_READS)
def test_a_jq_program_that_reads_env_or_files_is_refused(program: str) -> None:
    with pytest.raises(CommandError, match="reads server files or env"):
        check_filter(("jq", program))
    with pytest.raises(CommandError):
        parse_command("kubectl", f"get pods -o json | jq {shlex.quote(program)}")


TEMPLATE_DATA = [
    "go-template={{range .items}}{{$n := .metadata.name}}{{$n}} {{end}}",
    "go-template=env: {{.metadata.name}}",
    "go-template={{ .env }}",
    "go-template={{range .spec.containers}}{{.env}}{{end}}",
    'go-template={{ index .data "env" }}',
    "go-template={{/* env */}}",
    "go-template={{ `env` }}",
    "go-template={{ 'e' }}",
    'go-template={{ printf "%s" "expandenv" }}',
    "go-template={{ $env := 1 }}{{ $env }}",
    "jsonpath={.spec.containers[*].env}",
    "custom-columns=env:.spec.containers[*].env",
]
TEMPLATE_READS = [
    'go-template={{env "HOME"}}',
    'go-template={{ expandenv "$HOME" }}',
    'go-template={{- env "X" -}}',
    'go-template={{ "HOME" | env }}',
    'go-template={{ (env "X") }}',
    'go-template={{ getHostByName "x" }}',
    'go-template={{ "a}}" }}{{ env "x" }}',
    'go-template={{ "}}" | env }}',
    "go-template={{ .x }}{{env",
    "go-template={{{{env}}",
]


@pytest.mark.parametrize("fmt", TEMPLATE_DATA)
def test_a_template_that_only_mentions_env_as_data_passes(fmt: str) -> None:
    check_template(fmt, "the output format")
    assert parse_command("kubectl", f"get pods -o {shlex.quote(fmt)}").output_format == fmt


@pytest.mark.parametrize("fmt", TEMPLATE_READS)
def test_a_template_that_calls_env_functions_is_refused(fmt: str) -> None:
    with pytest.raises(CommandError, match="environment"):
        check_template(fmt, "the output format")
    with pytest.raises(CommandError, match="environment"):
        parse_command("kubectl", f"get pods -o {shlex.quote(fmt)}")
