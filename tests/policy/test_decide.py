"""evaluate(): the order of checks, rule matching, dry-run and the reasons callers read."""

from __future__ import annotations

import pytest

from k8s_mcp_server.contracts import CommandClass as C
from k8s_mcp_server.contracts import Flag
from k8s_mcp_server.policy import evaluate
from tests.policy.conftest import cmd, policy_of

BASE = """\
version: 1
default: deny
read_only: false
rules:
  - id: reads
    effect: allow
    verbs: [get, describe, logs]
  - id: deploy-dev
    effect: allow
    tools: [kubectl]
    verbs: [scale, "rollout restart", delete]
    resources: [deployments, pods]
    namespaces: [dev, "team-*"]
  - id: no-delete-prod
    effect: deny
    verbs: [delete, scale]
    namespaces: ["prod-*"]
    reason: production changes go through the release pipeline
  - id: no-secret-writes
    effect: deny
    verbs: ["*"]
    resources: [secrets]
"""


@pytest.mark.parametrize(
    ("parsed", "outcome", "rule"),
    [
        (cmd("get"), "allow", "reads"),
        (cmd("scale", command_class=C.WRITE, resources=("deployments",)), "allow", "deploy-dev"),
        (
            cmd("scale", command_class=C.WRITE, resources=("deployments",), namespaces=("team-a",)),
            "allow",
            "deploy-dev",
        ),
        (
            cmd("scale", command_class=C.WRITE, resources=("deployments",), namespaces=("qa",)),
            "deny",
            "default",
        ),
        (cmd("delete", command_class=C.WRITE, namespaces=("prod-eu",)), "deny", "no-delete-prod"),
        (cmd("scale", command_class=C.WRITE, resources=("statefulsets",)), "deny", "default"),
        (cmd("apply", command_class=C.WRITE), "deny", "default"),
        (cmd("list", tool="helm", resources=()), "deny", "default"),
    ],
)
def test_rules_default_and_precedence(parsed, outcome, rule):
    decision = evaluate(policy_of(BASE), parsed)
    assert (decision.outcome, decision.rule) == (outcome, rule)
    assert decision.allowed is (outcome == "allow")


def test_deny_rule_wins_over_a_matching_allow_rule():
    decision = evaluate(policy_of(BASE), cmd("get", resources=("secrets",)))
    assert decision.outcome == "deny"
    assert decision.rule == "no-secret-writes"
    assert set(decision.matched_rules) == {"reads", "no-secret-writes"}


def test_deny_reason_carries_the_rules_reason():
    decision = evaluate(policy_of(BASE), cmd("delete", command_class=C.WRITE, namespaces=("prod-eu",)))
    assert "release pipeline" in decision.reason
    assert "no-delete-prod" in decision.reason


def test_allow_rule_must_cover_every_resource_the_command_touches():
    touches_two = cmd("delete", command_class=C.WRITE, resources=("pods", "services"))
    assert evaluate(policy_of(BASE), touches_two).rule == "default"
    covered = cmd("delete", command_class=C.WRITE, resources=("pods", "deployments"))
    assert evaluate(policy_of(BASE), covered).rule == "deploy-dev"


def test_deny_rule_matches_when_any_resource_matches():
    touches_secret = cmd("get", resources=("pods", "secrets"))
    assert evaluate(policy_of(BASE), touches_secret).rule == "no-secret-writes"


def test_deny_rule_catches_a_group_qualified_spelling():
    assert evaluate(policy_of(BASE), cmd("get", resources=("secrets.v1",))).rule == "no-secret-writes"


def test_allow_rule_with_resources_does_not_match_a_command_without_resources():
    text = BASE.replace("verbs: [get, describe, logs]", "verbs: [get]\n    resources: [pods]")
    assert evaluate(policy_of(text), cmd("get", resources=())).rule == "default"


def test_allow_rule_with_namespaces_does_not_match_all_namespaces():
    all_ns = cmd("scale", command_class=C.WRITE, resources=("deployments",), namespaces=("*",))
    assert evaluate(policy_of(BASE), all_ns).rule == "no-delete-prod"  # -A reaches prod-* too
    restart_all = cmd("rollout restart", command_class=C.WRITE, resources=("deployments",), namespaces=("*",))
    assert evaluate(policy_of(BASE), restart_all).rule == "default"


def test_allow_rule_with_namespaces_does_not_match_a_cluster_scoped_command():
    nodes = cmd("delete", command_class=C.WRITE, resources=("pods",), namespaces=(), cluster_scoped=True)
    assert evaluate(policy_of(BASE), nodes).rule == "default"


def test_default_allow_allows_what_no_rule_matches():
    decision = evaluate(
        policy_of(BASE.replace("default: deny", "default: allow")), cmd("apply", command_class=C.WRITE)
    )
    assert (decision.allowed, decision.rule) == (True, "default")


def test_default_deny_reason_says_what_to_ask_for():
    decision = evaluate(policy_of(BASE), cmd("apply", command_class=C.WRITE))
    assert "no rule allows kubectl apply pods in dev" in decision.reason
    assert "ask for a policy" in decision.reason


READ_ONLY = """\
version: 1
read_only: true
secrets: {secrets}
rules:
  - id: everything
    effect: allow
"""


@pytest.mark.parametrize(
    ("klass", "secrets", "outcome", "rule"),
    [
        (C.READ, "redact", "allow", "everything"),
        (C.LOCAL, "redact", "allow", "everything"),
        (C.SENSITIVE_READ, "redact", "allow", "everything"),
        (C.SENSITIVE_READ, "allow", "allow", "everything"),
        (C.SENSITIVE_READ, "deny", "deny", "builtin:secrets"),
        (C.WRITE, "redact", "deny", "builtin:read-only"),
        (C.EXEC, "allow", "deny", "builtin:read-only"),
        (C.CREDENTIAL, "redact", "deny", "builtin:read-only"),
        (C.UNKNOWN, "redact", "deny", "builtin:read-only"),
    ],
)
def test_read_only_admits_only_read_classes(klass, secrets, outcome, rule):
    decision = evaluate(policy_of(READ_ONLY.format(secrets=secrets)), cmd("get", command_class=klass))
    assert (decision.outcome, decision.rule) == (outcome, rule)


def test_read_only_reason_names_the_verb_and_what_to_do():
    decision = evaluate(policy_of(READ_ONLY.format(secrets="redact")), cmd("delete", command_class=C.WRITE))
    assert decision.reason.startswith("kubectl delete is a write and this policy is read-only")
    assert "ask for a policy that allows it" in decision.reason


def test_secrets_deny_refuses_listing_secrets_even_when_classed_as_a_plain_read():
    decision = evaluate(policy_of(READ_ONLY.format(secrets="deny")), cmd("get", resources=("secrets",)))
    assert decision.rule == "builtin:secrets"


def test_decision_carries_the_secrets_mode_for_the_redactor():
    assert evaluate(policy_of(READ_ONLY.format(secrets="allow")), cmd()).secrets == "allow"
    assert evaluate(policy_of(READ_ONLY.format(secrets="redact")), cmd()).secrets == "redact"


NAMESPACES = """\
version: 1
namespaces:
  allow: [dev, "team-*"{extra}]
  deny: [kube-system]
rules: [{{id: r, effect: allow}}]
"""


@pytest.mark.parametrize(
    ("namespaces", "extra", "allowed"),
    [
        (("dev",), "", True),
        (("team-blue",), "", True),
        (("team",), "", False),
        (("prod",), "", False),
        (("kube-system",), ', "kube-*"', False),
        (("*",), "", False),
        (("*",), ', "*"', False),  # -A still reaches kube-system, which is denied
        (("dev", "prod"), "", False),
    ],
)
def test_namespace_allow_and_deny_lists(namespaces, extra, allowed):
    decision = evaluate(policy_of(NAMESPACES.format(extra=extra)), cmd(namespaces=namespaces))
    assert decision.allowed is allowed
    if not allowed:
        assert decision.rule == "builtin:namespaces"


def test_all_namespaces_needs_star_in_allow_when_nothing_is_denied():
    text = "version: 1\nnamespaces: {allow: [dev]}\nrules: [{id: r, effect: allow}]\n"
    assert evaluate(policy_of(text), cmd(namespaces=("*",))).rule == "builtin:namespaces"
    text_star = "version: 1\nnamespaces: {allow: [dev, '*']}\nrules: [{id: r, effect: allow}]\n"
    assert evaluate(policy_of(text_star), cmd(namespaces=("*",))).allowed


def test_cluster_scoped_commands_skip_namespace_lists():
    nodes = cmd(resources=("nodes",), namespaces=(), cluster_scoped=True)
    assert evaluate(policy_of(NAMESPACES.format(extra="")), nodes).allowed


def test_a_denied_namespace_cannot_be_named_as_a_namespace_object():
    delete_ns = cmd(
        "delete",
        command_class=C.WRITE,
        resources=("namespaces",),
        names=("kube-system",),
        namespaces=(),
        cluster_scoped=True,
    )
    text = NAMESPACES.format(extra="").replace("version: 1", "version: 1\nread_only: false")
    assert evaluate(policy_of(text), delete_ns).rule == "builtin:namespaces"
    typed = cmd(
        "get", resources=("namespaces",), names=("ns/kube-system",), namespaces=(), cluster_scoped=True
    )
    assert evaluate(policy_of(text), typed).rule == "builtin:namespaces"


def test_guarded_flag_is_refused_unless_named():
    parsed = cmd(flags=(Flag(name="kubeconfig", value="/etc/x"),), guarded_flags=("kubeconfig",))
    decision = evaluate(policy_of(READ_ONLY.format(secrets="redact")), parsed)
    assert (decision.allowed, decision.rule) == (False, "builtin:guarded-flag")
    assert "--kubeconfig" in decision.reason
    assert "/etc/x" not in decision.reason
    named = READ_ONLY.format(secrets="redact") + "flags: {allow: [kubeconfig]}\n"
    assert evaluate(policy_of(named), parsed).allowed


def test_guarded_flag_named_with_dashes_counts_as_named():
    named = READ_ONLY.format(secrets="redact") + "flags: {allow: ['--token']}\n"
    assert evaluate(policy_of(named), cmd(guarded_flags=("token",))).allowed


def test_guarded_flag_is_checked_before_everything_else():
    parsed = cmd("delete", command_class=C.WRITE, guarded_flags=("server",), filters=(("sed",),))
    assert evaluate(policy_of(READ_ONLY.format(secrets="redact")), parsed).rule == "builtin:guarded-flag"


def test_pipes_must_be_listed():
    text = READ_ONLY.format(secrets="redact") + "pipes: [grep, head]\n"
    assert evaluate(policy_of(text), cmd(filters=(("grep", "x"), ("head", "-n", "3")))).allowed
    denied = evaluate(policy_of(text), cmd(filters=(("grep", "x"), ("jq", "."))))
    assert denied.rule == "builtin:pipes"
    assert "'jq'" in denied.reason


def test_omitted_pipes_means_no_pipes():
    decision = evaluate(policy_of(READ_ONLY.format(secrets="redact")), cmd(filters=(("grep", "x"),)))
    assert decision.rule == "builtin:pipes"


DRY = BASE.replace("default: deny", "mode: dry-run\ndefault: deny")


def test_dry_run_turns_a_rule_deny_into_a_warning():
    decision = evaluate(policy_of(DRY), cmd("get", resources=("secrets",)))
    assert (decision.allowed, decision.outcome, decision.rule) == (True, "would-deny", "no-secret-writes")
    assert decision.warnings and decision.warnings[0].startswith("would deny: ")
    assert "no-secret-writes" in decision.warnings[0]


def test_dry_run_turns_the_default_into_a_warning():
    decision = evaluate(policy_of(DRY), cmd("apply", command_class=C.WRITE))
    assert (decision.allowed, decision.outcome, decision.rule) == (True, "would-deny", "default")


def test_dry_run_turns_read_only_into_a_warning():
    text = READ_ONLY.format(secrets="redact").replace("version: 1", "version: 1\nmode: dry-run")
    decision = evaluate(policy_of(text), cmd("exec", command_class=C.EXEC))
    assert (decision.allowed, decision.outcome, decision.rule) == (True, "would-deny", "builtin:read-only")


def test_dry_run_still_enforces_guarded_flags():
    decision = evaluate(policy_of(DRY), cmd(guarded_flags=("token",)))
    assert (decision.allowed, decision.outcome) == (False, "deny")
    assert decision.warnings == ()


def test_dry_run_allow_has_no_warning():
    decision = evaluate(policy_of(DRY), cmd("get"))
    assert (decision.allowed, decision.outcome, decision.warnings) == (True, "allow", ())


def test_decision_cites_the_policy_revision():
    policy = policy_of(BASE)
    assert evaluate(policy, cmd()).policy_revision == policy.revision
    assert policy.revision.startswith("sha256:") and len(policy.revision) == len("sha256:") + 16


def test_tool_globs_restrict_rules():
    text = "version: 1\nrules: [{id: h, effect: allow, tools: ['h*']}]\n"
    assert evaluate(policy_of(text), cmd("list", tool="helm", resources=())).rule == "h"
    assert evaluate(policy_of(text), cmd()).rule == "default"


def test_verb_globs_match_whole_subcommand_paths():
    text = "version: 1\nread_only: false\nrules: [{id: r, effect: allow, verbs: ['rollout *']}]\n"
    assert evaluate(policy_of(text), cmd("rollout restart", command_class=C.WRITE)).rule == "r"
    assert evaluate(policy_of(text), cmd("get")).rule == "default"


CLASSES = """\
version: 1
read_only: false
default: allow
rules:
  - id: reads
    effect: allow
    classes: [read, local]
  - id: no-exec
    effect: deny
    classes: [exec, credential]
    reason: running code in workloads is not allowed here
"""


@pytest.mark.parametrize(
    ("klass", "rule"),
    [
        (C.READ, "reads"),
        (C.LOCAL, "reads"),
        (C.EXEC, "no-exec"),
        (C.CREDENTIAL, "no-exec"),
        (C.WRITE, "default"),
    ],
)
def test_rules_can_match_command_classes(klass, rule):
    assert evaluate(policy_of(CLASSES), cmd("x", command_class=klass)).rule == rule


def test_a_glob_that_happens_to_match_the_star_marker_does_not_allow_all_namespaces():
    text = "version: 1\nrules: [{id: short, effect: allow, namespaces: ['?', '[!a]']}]\n"
    assert evaluate(policy_of(text), cmd(namespaces=("x",))).rule == "short"
    assert evaluate(policy_of(text), cmd(namespaces=("*",))).rule == "default"
    builtin = "version: 1\nnamespaces: {allow: ['?']}\nrules: [{id: r, effect: allow}]\n"
    assert evaluate(policy_of(builtin), cmd(namespaces=("*",))).rule == "builtin:namespaces"


_GROUPS = """
version: 1
read_only: false
rules:
  - {id: proxy-config, effect: allow, tools: [istioctl], verbs: [proxy-config]}
  - {id: no-rollout, effect: deny, tools: [kubectl], verbs: [rollout]}
"""


@pytest.mark.parametrize(
    ("parsed", "outcome", "rule"),
    [
        (cmd("proxy-config cluster", tool="istioctl", resources=()), "allow", "proxy-config"),
        (cmd("proxy-config secret", tool="istioctl", resources=()), "allow", "proxy-config"),
        (cmd("proxy-status", tool="istioctl", resources=()), "deny", "default"),
        (cmd("rollout restart", command_class=C.WRITE, resources=("deployments",)), "deny", "no-rollout"),
        (cmd("rollout status", resources=("deployments",)), "deny", "no-rollout"),
    ],
)
def test_a_verb_naming_a_group_matches_every_command_under_it(parsed, outcome, rule):
    decision = evaluate(policy_of(_GROUPS), parsed)
    assert (decision.outcome, decision.rule) == (outcome, rule)


def test_a_verb_group_does_not_match_a_longer_word_with_the_same_prefix():
    policy = policy_of("""
        version: 1
        rules:
          - {id: pc, effect: allow, tools: [istioctl], verbs: [proxy-config]}
    """)
    assert evaluate(policy, cmd("proxy-configx", tool="istioctl", resources=())).rule == "default"
