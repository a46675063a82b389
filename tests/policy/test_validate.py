"""Validation: a closed vocabulary, every problem at once, with file, line, column and a did-you-mean."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_mcp_server.errors import PolicyError
from k8s_mcp_server.policy import compile_policy, load_policy


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        compile_policy(textwrap.dedent(text), source="p.yaml")
    return caught.value.problems


def test_three_mistakes_are_reported_together_with_positions_and_suggestions():
    problems = problems_of(
        """\
        version: 1
        mode: enforse
        rules:
          - id: reads
            effect: allow
            verbs: [gett]
            resorces: ["*"]
        """
    )
    assert problems == [
        "p.yaml:2:7: mode must be one of enforce, dry-run, found the text 'enforse' "
        "(did you mean 'enforce'?)",
        "p.yaml:6:13: unknown verb 'gett' for kubectl, helm, istioctl, argocd (did you mean 'get'?)",
        "p.yaml:7:5: unknown key 'resorces' in a rule (did you mean 'resources'?); allowed keys: id, effect, "
        "tools, verbs, classes, resources, namespaces, reason, description, approvers, ttl",
    ]


def test_problems_are_sorted_by_line_whatever_order_they_are_found_in():
    problems = problems_of(
        """\
        rules:
          - effect: allow
        secrets: redcat
        """
    )
    lines = [int(p.split(":")[1]) for p in problems]
    assert lines == sorted(lines)
    assert any("'version' is missing" in p for p in problems)
    assert any("rule without 'id'" in p for p in problems)
    assert any("did you mean 'redact'?" in p for p in problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mode: enforce\n", "1:1: 'version' is missing"),
        ("version: 2\n", "1:10: version must be 1"),
        ("version: '1'\n", "1:10: version must be 1"),
        ("version: true\n", "1:10: version must be 1"),
        (
            "version: 1\nreadonly: true\n",
            "2:1: unknown key 'readonly' in the policy (did you mean 'read_only'?)",
        ),
        ("version: 1\nread_only: yes please\n", "2:12: read_only must be true or false"),
        ("version: 1\ndefault: permit\n", "2:10: default must be one of deny, allow"),
        ("version: 1\nversion: 1\n", "2:1: duplicate key 'version'"),
        ("version: 1\npipes: [grpe]\n", "2:9: unknown filter 'grpe' in pipes (did you mean 'grep'?)"),
        ("version: 1\npipes: [grep, grep]\n", "2:15: 'grep' is listed twice in pipes"),
        ("version: 1\npipes: grep\n", "2:8: pipes must be a list"),
        (
            "version: 1\nflags: {allow: [kubeconfg]}\n",
            "2:17: 'kubeconfg' is not a guarded flag (did you mean 'kubeconfig'?)",
        ),
        ("version: 1\nflags: {deny: [x]}\n", "2:9: unknown key 'deny' in flags"),
        (
            "version: 1\nnamespaces: {allow: [Dev]}\n",
            "2:22: 'Dev' in namespaces.allow is not a namespace name",
        ),
        (
            "version: 1\nnamespaces: {allow: [no]}\n",
            "2:22: each entry of namespaces.allow must be non-empty text, found boolean false",
        ),
        ("version: 1\nnamespaces: {allow: ['team-[ab']}\n", "2:22: bad glob in namespaces.allow"),
        (
            "version: 1\nnamespaces: {allow: [dev], deny: [dev]}\n",
            "2:22: namespace 'dev' is both allowed and denied",
        ),
        (
            "version: 1\nnamespaces: {allow: [dev], deny: ['*']}\n",
            "2:34: deny: ['*'] refuses every namespace",
        ),
        (
            "version: 1\nrules: [{id: a, effect: allow, tools: [kubctl]}]\n",
            "unknown tool 'kubctl' (did you mean 'kubectl'?)",
        ),
        ("version: 1\nrules: [{id: a, effect: allow, verbs: ['zz*']}]\n", "pattern matches no verb 'zz*'"),
        (
            "version: 1\nrules: [{id: a, effect: allow, tools: [helm], verbs: [scale]}]\n",
            "unknown verb 'scale' for helm",
        ),
        (
            "version: 1\nrules: [{id: a, effect: allow, resources: [podz]}]\n",
            "unknown resource 'podz' (did you mean 'pods'?)",
        ),
        ("version: 1\nrules: [{id: a, effect: permit}]\n", "effect must be one of allow, deny"),
        ("version: 1\nrules: [{id: a}]\n", "rule 'a' has no 'effect'"),
        ("version: 1\nrules: [{id: 'builtin:x', effect: deny}]\n", "rule id 'builtin:x' is not allowed"),
        ("version: 1\nrules: [{id: default, effect: deny}]\n", "rule id 'default' is not allowed"),
        (
            "version: 1\nrules:\n  - {id: a, effect: deny}\n  - {id: a, effect: allow}\n",
            "4:5: rule id 'a' is already used on line 3",
        ),
        ("version: 1\nrules: {id: a}\n", "rules must be a list"),
        ("version: 1\nx: &a 1\ny: *a\n", "3:4: aliases (*name) are not allowed"),
        ("version: 1\nx: &a 1\n", "2:4: anchors (&name) are not allowed"),
        (
            "version: 1\nmode: !!python/object:os.system enforce\n",
            "2:7: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed",
        ),
        ("version: 1\nmode: [unclosed\n", "not valid YAML"),
        ("", "1:1: the policy file is empty"),
        ("- version: 1\n", "1:1: the policy must be a mapping"),
        ("version: 1\n---\nversion: 1\n", "not valid YAML"),
    ],
)
def test_each_mistake_is_reported_with_its_position(text, expected):
    problems = problems_of(text)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("p.yaml:") for p in problems)


def test_allow_rule_that_read_only_always_overrides_is_a_contradiction():
    problems = problems_of(
        "version: 1\nread_only: true\nrules: [{id: w, effect: allow, verbs: [delete, scale]}]\n"
    )
    assert any("rule 'w' allows only verbs that read_only: true refuses (write)" in p for p in problems)


def test_allow_rule_for_a_denied_namespace_is_a_contradiction():
    text = (
        "version: 1\nnamespaces: {deny: ['kube-*']}\n"
        "rules: [{id: k, effect: allow, namespaces: [kube-system]}]\n"
    )
    assert any(
        "allows namespace 'kube-system', which namespaces.deny refuses" in p for p in problems_of(text)
    )


def test_allow_rule_for_reading_secrets_under_secrets_deny_is_a_contradiction():
    text = (
        "version: 1\nsecrets: deny\n"
        "rules: [{id: s, effect: allow, tools: [kubectl], verbs: [get], resources: [secrets]}]\n"
    )
    assert any("allows only reading secrets" in p for p in problems_of(text))


def test_resource_aliases_are_normalised_and_crds_accepted():
    policy = compile_policy(
        "version: 1\n"
        "rules: [{id: a, effect: allow, resources: [po, deploy, widgets.example.com, '*.istio.io']}]\n"
    )
    resources = policy.rules[0].resources
    assert resources is not None
    assert resources.match("pods") and resources.match("deployments")
    assert resources.match("widgets.example.com") and resources.match("gateways.networking.istio.io")
    assert not resources.match("po")


def test_verbs_are_normalised_for_whitespace():
    policy = compile_policy(
        "version: 1\nread_only: false\nrules: [{id: a, effect: allow, verbs: ['rollout   restart']}]\n"
    )
    verbs = policy.rules[0].verbs
    assert verbs is not None and verbs.match("rollout restart")


def test_defaults_are_the_safe_choice():
    policy = compile_policy("version: 1\n")
    assert (policy.mode, policy.default, policy.read_only, policy.secrets) == (
        "enforce",
        "deny",
        True,
        "redact",
    )
    assert policy.pipes == () and policy.flags_allow == frozenset() and policy.rules == ()
    assert policy.namespaces_allow is None


def test_revision_is_the_content_hash():
    a = compile_policy("version: 1\n")
    b = compile_policy("version: 1\n")
    c = compile_policy("version: 1  # changed\n")
    assert a.revision == b.revision != c.revision


def test_load_policy_reports_the_file_name(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nmode: nope\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.problems[0].startswith(f"{path}:2:7: ")


def test_load_policy_refuses_a_missing_file(tmp_path: Path):
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "absent.yaml")
    assert "cannot read the policy file" in caught.value.problems[0]


def test_load_policy_refuses_non_utf8_and_huge_files(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"version: 1\n# \xff\n")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(path)
    path.write_bytes(b"version: 1\n" + b"#" * (1024 * 1024))
    with pytest.raises(PolicyError, match="larger than"):
        load_policy(path)


def test_a_billion_laughs_file_is_refused_without_expanding():
    text = (
        "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n"
    )
    problems = problems_of(text)
    assert any("aliases" in p for p in problems)


@pytest.mark.parametrize(
    "text",
    [
        "version: !!int abc\n",
        "version: 1\nmode: !!binary aGVsbG8=\n",
        "version: 1\nrules: [{id: !!python/name:os.system a, effect: allow}]\n",
        "version: 1\nread_only: !custom true\n",
        "? [a, b]\n: 1\n",
        "version: 1\nnamespaces: {allow: [2001-01-01]}\n",
    ],
)
def test_odd_yaml_is_refused_with_a_problem_never_a_crash(text):
    assert problems_of(text)


_YAMLISH = st.text(
    alphabet=st.sampled_from(list("version: 1\n-[]{}&*!'\"#?,|>abrulesidfctowny_. ")), max_size=80
)


@settings(max_examples=300, deadline=None)
@given(_YAMLISH)
def test_any_text_either_compiles_or_raises_policy_error(text: str) -> None:
    try:
        compile_policy(text)
    except PolicyError as exc:
        assert exc.problems and all(p.startswith("<string>:") for p in exc.problems)


def test_unknown_class_gets_a_suggestion():
    problems = problems_of("version: 1\nrules: [{id: a, effect: deny, classes: [exce]}]\n")
    assert any("unknown class 'exce' (did you mean 'exec'?)" in p for p in problems)


def test_allow_rule_for_write_classes_under_read_only_is_a_contradiction():
    problems = problems_of("version: 1\nrules: [{id: w, effect: allow, classes: [write]}]\n")
    assert any("rule 'w' allows only classes that read_only: true refuses (write)" in p for p in problems)


def test_deeply_nested_yaml_is_a_problem_not_a_recursion_error():
    problems = problems_of("version: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    assert any("nested deeper than 16 levels" in p for p in problems)
