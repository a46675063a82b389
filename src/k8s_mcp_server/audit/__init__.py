"""The audit log: records, the SHA-256 hash chain, rotation, and the review CLI.

The pipeline builds records with `decision_record` / `completion_record` and writes them with
`AuditLog.write`, which adds `schema_version`, `ts`, `prev_hash` and `hash`.
"""

from k8s_mcp_server.audit.chain import GENESIS_HASH, SCHEMA_VERSION, canonical_json, compute_hash
from k8s_mcp_server.audit.cli import add_audit_commands
from k8s_mcp_server.audit.log import AuditLog
from k8s_mcp_server.audit.records import (
    completion_record,
    decision_record,
    fingerprint,
    not_run_record,
    rejected_record,
)
from k8s_mcp_server.audit.secrets import PLACEHOLDER, redact_argv, redact_command
from k8s_mcp_server.audit.verify import VerifyResult, verify

__all__ = [
    "GENESIS_HASH",
    "PLACEHOLDER",
    "SCHEMA_VERSION",
    "AuditLog",
    "VerifyResult",
    "add_audit_commands",
    "canonical_json",
    "completion_record",
    "compute_hash",
    "decision_record",
    "fingerprint",
    "not_run_record",
    "redact_argv",
    "redact_command",
    "rejected_record",
    "verify",
]
