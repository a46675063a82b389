"""The policy engine: YAML → validated, compiled policy → evaluate(ParsedCommand) → Decision.

Public API: `load_policy`, `compile_policy`, `evaluate`, `CompiledPolicy`, `PolicyStore` (hot reload)
and `add_policy_commands` (the `policy check | explain | test` CLI).
"""

from __future__ import annotations

from k8s_mcp_server.policy.cli import add_policy_commands
from k8s_mcp_server.policy.decide import evaluate
from k8s_mcp_server.policy.model import CompiledPolicy, CompiledRule
from k8s_mcp_server.policy.store import PolicyStore
from k8s_mcp_server.policy.validate import compile_policy, load_policy

__all__ = [
    "CompiledPolicy",
    "CompiledRule",
    "PolicyStore",
    "add_policy_commands",
    "compile_policy",
    "evaluate",
    "load_policy",
]
