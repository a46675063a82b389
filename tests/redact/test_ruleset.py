"""The rule set as data: every rule's own samples, its boundedness, and the two scan engines agreeing."""

from __future__ import annotations

import json
import re

import pytest

from k8s_mcp_server.redact import namebound
from k8s_mcp_server.redact.ruleset import (
    HAVE_HYPERSCAN,
    RuleError,
    RuleSet,
    RuleSpec,
    check_bounded,
    load_ruleset,
    ruleset,
)

RULES = ruleset().rules
SLOW = load_ruleset(use_hyperscan=False)


def _ids(text: str, rules: RuleSet | None = None) -> set[str]:
    return {rule for _s, _e, rule in (rules or ruleset()).spans(text)}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_true_positive_sample_of_a_rule_is_found_by_that_rule(rule: object) -> None:
    for sample in rule.spec.true_positives:  # type: ignore[attr-defined]
        assert rule.id in _ids(sample), f"{rule.id}: a true-positive sample is not found"  # type: ignore[attr-defined]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_no_false_positive_sample_of_a_rule_is_found_by_that_rule(rule: object) -> None:
    for index, sample in enumerate(rule.spec.false_positives):  # type: ignore[attr-defined]
        assert rule.id not in _ids(sample), f"{rule.id}: false-positive sample #{index} is found"  # type: ignore[attr-defined]


def test_the_fallback_engine_finds_the_same_spans_as_hyperscan() -> None:
    texts = [s for rule in RULES for s in (*rule.spec.true_positives, *rule.spec.false_positives)]
    joined = "\n".join(texts)
    assert sorted(SLOW.spans(joined)) == sorted(ruleset().spans(joined))
    for text in texts:
        assert sorted(SLOW.spans(text)) == sorted(ruleset().spans(text))


def test_hyperscan_is_the_engine_where_it_is_installed() -> None:
    assert ruleset().engine == ("hyperscan" if HAVE_HYPERSCAN else "str.find")


@pytest.mark.parametrize(
    "pattern",
    [r"a+", r"a*b", r"a{2,}", r"(?:ab{1,4}){1,9}", r"(a)\1", r"(?:x|y{1,3})*"],
)
def test_an_unbounded_or_nested_pattern_is_refused_at_load(pattern: str) -> None:
    with pytest.raises(RuleError):
        check_bounded(pattern)


def test_a_rule_without_samples_or_keywords_is_refused() -> None:
    with pytest.raises(ValueError):
        RuleSpec.model_validate({"id": "x-rule", "kind": "structure", "description": "d", "pattern": "a"})
    spec = RuleSpec.model_validate(
        {"id": "x-rule", "kind": "structure", "description": "d", "pattern": "ab", "true_positives": ["ab"]}
    )
    with pytest.raises(RuleError):
        RuleSet((spec,))


def test_every_shipped_pattern_is_bounded() -> None:
    for rule in RULES:
        assert check_bounded(rule.spec.pattern) == rule.max_len
        if rule.spec.back:
            assert rule.max_len <= 8192


# Long runs of each character class (and of each keyword) after each keyword: every pattern is tried only
# at keyword hits, a hit inside the last match is skipped, and each try is bounded, so these finish; the
# timings (64 KB, 1 MB, 10 MB) are in bench/bench_patterns.py, not asserted here.
_RUNS = [
    "a",
    "A",
    "0",
    "f",
    "-",
    "_",
    ".",
    "/",
    "+",
    "=",
    ":",
    " ",
    "\t",
    '"',
    "'",
    "\\",
    "\n",
    "é",
    "%",
    "~",
]


@pytest.mark.parametrize("run", _RUNS)
def test_long_runs_after_every_keyword_are_scanned(run: str) -> None:
    keywords = sorted({k for rule in RULES for k in rule.spec.keywords})
    text = "".join(f"{k}{run * 64}" for k in keywords) + run * 65536
    spans = ruleset().spans(text)
    assert all(0 <= s < e <= len(text) for s, e, _ in spans)


def test_name_bound_values_have_no_length_limit() -> None:
    value = "Ab9-" * 150_000
    text = f"password: {value}\nother: 1\n"
    [(start, end, rule)] = ruleset().spans(text)
    assert rule == "name-bound" and text[start:end] == value


@pytest.mark.parametrize(
    "name",
    ["DB_PASSWORD", "stripeApiKey", "client-secret", "AUTH_TOKEN", "tls.key", "aws_secret_access_key", "dsn"],
)
def test_secret_looking_names(name: str) -> None:
    assert namebound.secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "existingSecret",
        "secretName",
        "existingSecretPasswordKey",
        "passwordKey",
        "token-ttl",
        "PASSWORD_FILE",
        "secretKeyRef",
        "idempotency_key",
        "automountServiceAccountToken",
        "key",
        "tokenUrl",
        "monkey",
    ],
)
def test_reference_and_setting_names_are_not_secret_names(name: str) -> None:
    assert not namebound.secret_name(name)


@pytest.mark.parametrize(
    "value",
    [
        "${DB_PASSWORD}",
        "{{ .Values.pw }}",
        "<set to the key 'password'>",
        "payments/payments-api-tls",
        "true",
        "/run/secrets/x",
        "https://sso.example.com/token",
        "3600s",
        "$oidc.keycloak.clientSecret",
        "password",
    ],
)
def test_placeholders_references_and_settings_are_not_secret_values(value: str) -> None:
    assert not namebound.plausible_value(value)


def test_a_yaml_block_scalar_under_a_secret_name_is_redacted_whole() -> None:
    text = "data:\n  tls.key: |\n    MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n    Ks14IReLcYgADhoXk56ZzXI=\n  b: x\n"
    [(start, end, _rule)] = ruleset().spans(text)
    assert text[start:end] == "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n    Ks14IReLcYgADhoXk56ZzXI="


def test_a_key_at_line_start_takes_the_rest_of_its_line() -> None:
    text = "      DB_PASSWORD:   correct horse battery  # comment\n"
    [(start, end, _rule)] = ruleset().spans(text)
    assert text[start:end] == "correct horse battery"
    assert re.search("horse", "log password=correct horse")  # mid-line: the value ends at the space
    [(start, end, _rule)] = ruleset().spans("log password=correct horse")
    assert "log password=correct horse"[start:end] == "correct"


def test_a_json_value_inside_json_inside_a_json_string_is_redacted_whole() -> None:
    inner = json.dumps({"pw": 'Hunter2"quoted"tail', "key": "-----BEGIN X-----\nAAAA\n"})
    text = json.dumps({"a": json.dumps({"DB_PASSWORD": inner})})  # last-applied of a ConfigMap, as JSON
    [(start, end, rule)] = ruleset().spans(text)
    assert rule == "name-bound"
    rest = text[:start] + text[end:]
    assert "Hunter2" not in rest and "tail" not in rest and "AAAA" not in rest
