"""One response's redaction: the tool's stdout before its filters read it, stderr like stdout, template
dumps cut, placeholders of the response's own."""

from __future__ import annotations

from k8s_mcp_server.contracts import CommandClass, ParsedCommand, RawOutput
from k8s_mcp_server.redact import Redactor
from k8s_mcp_server.redact.dumps import drop_template_dumps

from . import samples as s

JSONPATH_DUMP = (
    'error: error executing jsonpath "{.metadata.name.x}": Error executing template: x is not a map. '
    "Printing more information for debugging the template:\n"
    "\ttemplate was:\n\t\t{.metadata.name.x}\n"
    "\tobject given to jsonpath engine was:\n"
    '\t\tmap[string]interface {}{"data":map[string]interface {}{"password":"' + s.b64(s.PASSWORD) + '"}}\n'
    "\n"
)
GO_TEMPLATE_DUMP = (
    'Error executing template: template: output:1:11: executing "output" at <.metadata.name.x>: '
    "can't evaluate field x in type interface {}. Printing more information for debugging the template:\n"
    "\ttemplate was:\n\t\t{{.metadata.name.x}}\n"
    '\traw data was:\n\t\t{"data":{"password":"' + s.b64(s.PASSWORD) + '"}}\n'
    "\tobject given to template engine was:\n\t\tmap[data:map[password:" + s.b64(s.PASSWORD) + "]]\n"
)


def _secret_read(
    fmt: str | None = "json", filters: tuple[tuple[str, ...], ...] = (("jq", ".data"),)
) -> ParsedCommand:
    return ParsedCommand(
        tool="kubectl",
        argv=("get", "secret", "db"),
        verb="get",
        command_class=CommandClass.SENSITIVE_READ,
        resources=("secrets",),
        output_format=fmt,
        filters=filters,
        prints_objects=True,
    )


def test_the_stage_pass_gives_filters_the_secret_with_its_values_replaced(redactor: Redactor) -> None:
    response = redactor.start()
    fed = response.stage(s.SECRET_YAML.encode(), parsed=_secret_read("yaml")).decode()
    assert s.b64(s.PASSWORD) not in fed and "password:" in fed and "db-credentials" in fed
    assert response.counts == {"secret-data": 2}


def test_counts_of_the_tool_and_of_its_filters_add_up_in_one_response(redactor: Redactor) -> None:
    response = redactor.start()
    fed = response.stage(s.SECRET_YAML.encode(), parsed=_secret_read("yaml")).decode()
    # what a `grep password` after it prints, plus a PEM key a filter could not have made up
    filtered = "\n".join(line for line in fed.splitlines() if "password" in line) + "\n" + s.PEM
    out = response.finish(RawOutput(stdout=filtered.encode(), stderr=b"", exit_code=0, duration_ms=1.0))
    assert out.redactions["secret-data"] == 2 and sum(out.redactions.values()) >= 3
    assert s.PEM.splitlines()[1] not in out.stdout


def test_placeholders_match_within_one_response_across_the_tool_and_its_filters(redactor: Redactor) -> None:
    response = redactor.start()
    fed = response.stage(s.SECRET_YAML.encode(), parsed=_secret_read("yaml")).decode()
    placeholder = next(word for word in fed.split() if "REDACTED:secret-data" in word).strip('"')
    again = response.stage(s.SECRET_YAML.encode(), parsed=_secret_read("yaml")).decode()
    assert placeholder in again
    assert (
        placeholder
        not in redactor.start().stage(s.SECRET_YAML.encode(), parsed=_secret_read("yaml")).decode()
    )


def test_stderr_gets_the_structural_pass_like_stdout(redactor: Redactor) -> None:
    out = redactor.redact(RawOutput(stdout=b"", stderr=s.SECRET_YAML.encode(), exit_code=1, duration_ms=1.0))
    assert s.b64(s.PASSWORD) not in out.stderr and "secret-data" in out.redactions


def test_a_failing_jsonpath_or_go_template_loses_the_object_kubectl_dumps(redactor: Redactor) -> None:
    for dump in (JSONPATH_DUMP, GO_TEMPLATE_DUMP):
        raw = RawOutput(stdout=dump.encode(), stderr=dump.encode(), exit_code=1, duration_ms=1.0)
        out = redactor.redact(raw, parsed=_secret_read("jsonpath={.metadata.name.x}", ()))
        for stream in (out.stdout, out.stderr):
            assert s.b64(s.PASSWORD) not in stream and "map[" not in stream
            assert "Printing more information for debugging the template:" in stream  # the sentence stays
        assert out.redactions["template-dump"] == 2


def test_dump_removal_keeps_what_follows_the_dump() -> None:
    counts: dict[str, int] = {}
    text = JSONPATH_DUMP + "after\n" + JSONPATH_DUMP
    kept = drop_template_dumps(text, counts)
    assert counts == {"template-dump": 2} and "after\n" in kept and "interface" not in kept


def test_output_without_a_dump_is_returned_as_it_is() -> None:
    counts: dict[str, int] = {}
    text = 'error: pods "x" not found\n\tindented detail\n'
    assert drop_template_dumps(text, counts) is text and counts == {}


def test_over_redaction_replaces_tokens_made_only_of_punctuation(redactor: Redactor) -> None:
    # a template over a Secret that got past the policy (second line): symbols can spell digits
    spelled = "!# %& () *+ ,. !! ## %% && (( ))"
    raw = RawOutput(stdout=spelled.encode(), stderr=b"", exit_code=0, duration_ms=1.0)
    out = redactor.redact(raw, parsed=_secret_read("go-template={{.data.password}}", ()))
    assert out.stdout.split() == [w for w in out.stdout.split() if w.startswith("[REDACTED:secret-data:")]
    assert len(out.stdout.split()) == len(spelled.split())
