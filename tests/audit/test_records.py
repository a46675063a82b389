from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import MappingProxyType

from k8s_mcp_server.audit import (
    AuditLog,
    completion_record,
    decision_record,
    fingerprint,
    rejected_record,
    verify,
)
from k8s_mcp_server.contracts import (
    ClusterRef,
    CommandClass,
    CommandRequest,
    Decision,
    ParsedCommand,
    RedactedOutput,
)
from k8s_mcp_server.errors import Busy, Unauthenticated

KUBECONFIG = b"apiVersion: v1\nusers:\n- name: u\n  user:\n    token: KUBECONFIG-CANARY\n"
REQUEST = CommandRequest(
    request_id="r-1",
    tool="kubectl",
    command="kubectl get pods -n dev --token=CMD-CANARY | grep web",
    namespace="dev",
    principal="ci-bot",
    transport="mcp",
    source_ip="127.0.0.1",
)
PARSED = ParsedCommand(
    tool="kubectl",
    argv=("get", "pods", "-n", "dev", "--token=CMD-CANARY"),
    verb="get",
    command_class=CommandClass.READ,
    resources=("pods",),
    names=("web-1",),
    namespaces=("dev",),
    filters=(("grep", "web"),),
)
ALLOW = Decision(
    allowed=True, outcome="allow", rule="allow-reads", reason="reads are allowed", policy_revision="rev1"
)
CLUSTER = ClusterRef(
    server="https://admin:URL-CANARY@10.0.0.1:6443", fingerprint=hashlib.sha256(KUBECONFIG).hexdigest()
)


def test_fingerprint_is_prefixed_sha256_of_the_bytes() -> None:
    assert fingerprint(KUBECONFIG) == "sha256:" + hashlib.sha256(KUBECONFIG).hexdigest()


def test_decision_record_carries_the_contract_fields_and_no_secrets() -> None:
    record = decision_record(
        request=REQUEST, parsed=PARSED, decision=ALLOW, outcome="allow", rule="allow-reads",
        reason="reads are allowed", policy_revision="rev1", cluster=CLUSTER,
    )  # fmt: skip
    assert record["event"] == "decision" and record["decision"] == "allow"
    assert (record["principal"], record["transport"], record["source_ip"]) == ("ci-bot", "mcp", "127.0.0.1")
    assert record["verbs"] == ["get"] and record["resources"] == ["pods"] and record["namespaces"] == ["dev"]
    assert record["names"] == ["web-1"]
    assert record["argv"][:4] == ["get", "pods", "-n", "dev"] and record["filters"] == [["grep", "web"]]
    assert record["cluster"]["fingerprint"] == fingerprint(KUBECONFIG)
    text = json.dumps(record)
    for canary in ("CMD-CANARY", "URL-CANARY", "KUBECONFIG-CANARY"):
        assert canary not in text
    assert "exit_code" not in record


def test_rejected_record_without_a_parse_keeps_request_facts_and_error_code() -> None:
    record = decision_record(
        request=REQUEST, parsed=None, decision=None, outcome="rejected", rule=None,
        reason="`;` is not allowed", policy_revision=None, cluster=None, error_code="invalid_command",
    )  # fmt: skip
    assert record["decision"] == "rejected" and record["error_code"] == "invalid_command"
    assert record["argv"] is None and record["verbs"] == [] and record["namespaces"] == ["dev"]
    assert record["tool"] == "kubectl" and record["cluster"] is None
    assert "CMD-CANARY" not in record["command"]


def test_rejected_record_is_the_decision_record_of_the_error() -> None:
    error = Busy("too many requests in flight; retry in a moment")
    record = rejected_record(request=REQUEST, error=error, parsed=PARSED, decision=ALLOW, cluster=CLUSTER)
    expected = decision_record(
        request=REQUEST, parsed=PARSED, decision=ALLOW, outcome="rejected", rule="allow-reads",
        reason=error.message, policy_revision="rev1", cluster=CLUSTER, error_code="busy",
    )  # fmt: skip
    assert record == expected
    bare = rejected_record(request=REQUEST, error=Unauthenticated("send a key"))
    assert (bare["decision"], bare["error_code"], bare["rule"], bare["argv"]) == (
        "rejected",
        "unauthenticated",
        None,
        None,
    )


def test_deny_record_falls_back_to_the_decisions_rule_and_reason() -> None:
    deny = Decision(
        allowed=False, outcome="deny", rule="no-scale-prod", reason="use the pipeline", policy_revision="r2"
    )
    record = decision_record(
        request=REQUEST, parsed=PARSED, decision=deny, outcome="deny", rule=None, reason=None,
        policy_revision=None, cluster=None,
    )  # fmt: skip
    assert (record["rule"], record["reason"], record["policy_revision"]) == (
        "no-scale-prod",
        "use the pipeline",
        "r2",
    )


def test_completion_record_adds_the_run_facts() -> None:
    output = RedactedOutput(
        stdout="x", stderr="", exit_code=1, duration_ms=12.34567, output_bytes=2048,
        truncated=True, timed_out=False, redactions=MappingProxyType({"secret-data": 2, "bearer": 1}),
    )  # fmt: skip
    record = completion_record(request=REQUEST, parsed=PARSED, decision=ALLOW, cluster=CLUSTER, output=output)
    assert (
        record["event"] == "completion" and record["decision"] == "allow" and record["rule"] == "allow-reads"
    )
    assert record["exit_code"] == 1 and record["duration_ms"] == 12.346 and record["output_bytes"] == 2048
    assert record["truncated"] is True and record["timed_out"] is False
    assert record["redactions"] == {"bearer": 1, "secret-data": 2}
    assert "stdout" not in record and '"x"' not in json.dumps(record)


def test_built_records_are_writable_and_verify(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl", fsync=False)
    log.write(decision_record(
        request=REQUEST, parsed=PARSED, decision=ALLOW, outcome="allow", rule=None, reason=None,
        policy_revision=None, cluster=CLUSTER,
    ))  # fmt: skip
    output = RedactedOutput(stdout="", stderr="", exit_code=0, duration_ms=1.0, output_bytes=0)
    log.write(
        completion_record(request=REQUEST, parsed=PARSED, decision=ALLOW, cluster=CLUSTER, output=output)
    )
    log.close()
    assert verify([tmp_path / "a.jsonl"]).records == 2


def test_a_refusal_reason_that_quotes_a_secret_is_redacted() -> None:
    record = decision_record(
        request=REQUEST,
        parsed=None,
        decision=None,
        outcome="rejected",
        rule=None,
        reason="unknown subcommand 'password=REASON-CANARY' for 'kubectl'",
        policy_revision="rev1",
        cluster=None,
        error_code="invalid_command",
    )
    assert record["reason"] == "unknown subcommand 'password=[REDACTED]' for 'kubectl'"
    assert "REASON-CANARY" not in json.dumps(record)


def test_a_would_deny_warning_that_quotes_a_secret_is_redacted() -> None:
    decision = Decision(
        allowed=True, outcome="would-deny", rule="r", reason="dry-run", policy_revision="rev1",
        warnings=("would deny: grep Bearer WARN-CANARY",),
    )  # fmt: skip
    record = decision_record(
        request=REQUEST, parsed=PARSED, decision=decision, outcome="would-deny",
        rule=None, reason=None, policy_revision=None, cluster=None,
    )  # fmt: skip
    assert record["warnings"] == ["would deny: grep Bearer [REDACTED]"]


def test_not_run_record_is_a_completion_with_the_error_code_and_no_exit_code() -> None:
    from k8s_mcp_server.audit import not_run_record

    record = not_run_record(
        request=REQUEST, parsed=PARSED, decision=ALLOW, cluster=CLUSTER,
        error_code="busy", reason="too many requests in flight; retry in a moment",
    )  # fmt: skip
    assert record["event"] == "completion" and record["decision"] == "allow"
    assert record["error_code"] == "busy" and record["exit_code"] is None
    assert record["output_bytes"] == 0 and record["redactions"] == {}
    assert "CMD-CANARY" not in json.dumps(record) and "URL-CANARY" not in json.dumps(record)
