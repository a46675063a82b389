"""Shapes that used to slip past or break the redactor: key order, flow style, anchors, huge and deep input,
non-ASCII before a secret, compound keywords, templates of non-Secret resources, describe data."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from k8s_mcp_server.contracts import CommandClass, ParsedCommand
from k8s_mcp_server.redact import Redactor

from . import samples as s

SECRET = "Zq9-hunter2-S3cret"


def run(redactor: Redactor, text: str, parsed: ParsedCommand | None = None) -> str:
    out = redactor.redact(s.raw(text), parsed=parsed)
    assert out.stdout == redactor.redact(s.raw(out.stdout), parsed=parsed).stdout  # idempotent
    return out.stdout


def read(resource: str, output_format: str) -> ParsedCommand:
    return ParsedCommand(
        tool="kubectl",
        argv=("get", resource, "x", "-o", output_format),
        verb="get",
        command_class=CommandClass.READ,
        resources=(resource,),
        output_format=output_format,
    )


def test_env_values_are_found_whatever_the_key_order(redactor: Redactor) -> None:
    text = f"spec:\n  containers:\n  - env:\n    - value: {SECRET}\n      name: DB_PASSWORD\n    name: c\n"
    out = run(redactor, text)
    assert SECRET not in out
    assert yaml.safe_load(out)["spec"]["containers"][0]["env"][0]["name"] == "DB_PASSWORD"


@pytest.mark.parametrize(
    "text",
    [
        f"config: {{password: {SECRET}, user: bob}}\n",
        f"items:\n- {{password: {SECRET}}}\n",
        f"env: [{{name: API_TOKEN, value: {SECRET}}}, {{name: X, value: y}}]\n",
        f"users:\n- name: u\n  user: {{token: {SECRET}, username: bob}}\n",
    ],
)
def test_flow_style_yaml_stays_valid_yaml_after_redaction(redactor: Redactor, text: str) -> None:
    out = run(redactor, text)
    assert SECRET not in out
    assert "[REDACTED:" in out
    yaml.safe_load(out)


def test_an_anchored_secret_value_keeps_its_anchor_so_aliases_still_resolve(redactor: Redactor) -> None:
    text = f"kind: Secret\ndata:\n  password: &pw {SECRET}\n  copy: *pw\nmetadata:\n  name: x\n"
    out = run(redactor, text)
    assert SECRET not in out
    doc = yaml.safe_load(out)
    assert doc["data"]["copy"] == doc["data"]["password"] != SECRET


def test_a_huge_single_line_json_is_over_redacted_in_linear_time(redactor: Redactor) -> None:
    items = ",".join(f'{{"kind":"ConfigMap","data":{{"k":"v{i}"}}}}' for i in range(100_000))
    text = '{"kind":"List","items":[' + items + ',{"kind":"Secret","data":{"password":"' + SECRET + '"}}]}\n'
    start = time.perf_counter()
    out = redactor.redact(s.raw(text))
    elapsed = time.perf_counter() - start
    assert SECRET not in out.stdout
    assert out.redactions.get("unparsed") == 1
    assert elapsed < 10  # composing this (4 MB, one unit) took minutes before the size cap


def test_a_secret_nested_deeper_than_the_guard_is_over_redacted_not_leaked(redactor: Redactor) -> None:
    inner = '{"kind":"Secret","data":{"password":"' + SECRET + '"}}'
    text = "[" * 300 + inner + "]" * 300 + "\n"
    out = redactor.redact(s.raw(text))
    assert SECRET not in out.stdout
    assert "unparsed" in out.redactions


def test_deeply_nested_output_without_secrets_is_returned_unchanged(redactor: Redactor) -> None:
    text = "[" * 5000 + "]" * 5000 + "\n"
    assert run(redactor, text) == text


def test_characters_that_lengthen_when_lowercased_do_not_hide_a_later_secret(redactor: Redactor) -> None:
    out, counts = redactor.redact_text(f"\u0130\u0130\u0130\u0130 password={SECRET} done")
    assert SECRET not in out and counts == {"name-bound": 1}


@pytest.mark.parametrize(
    "text",
    [
        f"api_key={SECRET}",
        f"ApiKey: {SECRET}",
        f"access-key: {SECRET}",
        f"privateKey={SECRET}",
        f"clientSecret={SECRET}",
        f"x_auth_token: {SECRET}",
        "token " + "github_pat_" + "b" * 30,
        "ghp_" + "a" * 36,
        "x sk_test_" + "c" * 20,
        "Bearer abcdefghijk12345",
    ],
)
def test_every_spelling_of_a_keyword_rule_is_redacted(redactor: Redactor, text: str) -> None:
    out, counts = redactor.redact_text(text)
    assert counts, out
    assert "[REDACTED:" in out


def test_plain_key_fields_are_not_mistaken_for_api_keys(redactor: Redactor) -> None:
    text = "- key: node.kubernetes.io/not-ready\n  operator: Exists\n"
    assert redactor.redact_text(text) == (text, {})


@pytest.mark.parametrize(
    ("resource", "fmt"),
    [
        ("configmaps", "jsonpath={.data.password}"),
        ("deployments.apps", "jsonpath={.spec.template.spec.containers[*].env}"),
        ("deployments.apps", "jsonpath={..value}"),
        ("pods", "go-template={{range .spec.containers}}{{.env}}{{end}}"),
        ("configmaps", "custom-columns=PW:.data.db_password"),
    ],
)
def test_templates_printing_risky_fields_of_any_resource_are_redacted(
    redactor: Redactor, resource: str, fmt: str
) -> None:
    out = redactor.redact(s.raw(f"{SECRET} other\n"), parsed=read(resource, fmt))
    assert SECRET not in out.stdout
    assert out.redactions.get("secret-field") == 2


def test_templates_printing_names_of_other_resources_are_kept(redactor: Redactor) -> None:
    text = "web-1 web-2\n"
    out = redactor.redact(s.raw(text), parsed=read("pods", "jsonpath={.items[*].metadata.name}"))
    assert out.stdout == text


DESCRIBE_CM = (
    "Name:         settings\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\n"
    "Data\n====\ngreeting:\n----\nhello\n\npassword:\n----\n{secret}\nBinaryData\nmore\n\n\n"
    "BinaryData\n====\n\nEvents:  <none>\n"
)


def test_describe_data_entries_with_secret_looking_keys_are_redacted_to_the_section_end(
    redactor: Redactor,
) -> None:
    out = run(redactor, DESCRIBE_CM.format(secret=SECRET))
    assert SECRET not in out and "more" not in out
    assert "greeting:\n----\nhello\n" in out
    assert "[REDACTED:secret-field:" in out
    assert out.endswith("BinaryData\n====\n\nEvents:  <none>\n")


def test_an_env_list_printed_without_its_key_is_still_redacted(redactor: Redactor) -> None:
    # `get deploy x -o json | jq '.spec.template.spec.containers[0].env'`
    entries = [{"name": "PASSWORD", "value": SECRET}, {"name": "MODE", "value": "fast"}]
    text = json.dumps(entries, indent=2) + "\n"
    out = run(redactor, text)
    assert SECRET not in out and '"value": "fast"' in out
