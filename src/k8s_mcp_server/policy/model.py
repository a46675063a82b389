"""The compiled, immutable policy: what `evaluate` reads on every request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from k8s_mcp_server.contracts import CommandClass, SecretsMode
from k8s_mcp_server.policy.globs import GlobSet

Mode = Literal["enforce", "dry-run"]
Effect = Literal["allow", "deny", "approve"]


@dataclass(frozen=True, kw_only=True, eq=False)
class CompiledRule:
    """One rule; a `None` matcher means the key was omitted (matches anything, including nothing)."""

    id: str
    effect: Effect
    tools: GlobSet | None
    verbs: GlobSet | None
    classes: frozenset[CommandClass] | None
    resources: GlobSet | None
    namespaces: GlobSet | None
    reason: str | None
    description: str | None
    line: int
    # effect approve only: who may approve (principals, `group:NAME`; empty: any approver) and how
    # long a requested approval holds
    approvers: tuple[str, ...] = ()
    ttl_seconds: float | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class CompiledPolicy:
    """A validated policy. Identity-compared: two loads of one file are two policies with one revision."""

    source: str
    revision: str  # "sha256:" + the first 16 hex digits of the SHA-256 of the file bytes
    mode: Mode
    default: Effect
    read_only: bool
    secrets: SecretsMode
    namespaces_allow: GlobSet | None  # None: every namespace
    namespaces_deny: GlobSet
    pipes: tuple[str, ...]  # filters allowed after `|`, in file order
    flags_allow: frozenset[str]  # guarded flags this policy names, without leading dashes
    clusters_allow: GlobSet | None = None  # named clusters its principals may use; None: every one
    identity_mode: str = "any"  # any | impersonate | caller-kubeconfig: what the server must be running
    rules: tuple[CompiledRule, ...]

    @property
    def allow_rules(self) -> tuple[CompiledRule, ...]:
        """Rules that let a command run: allow rules, and approve rules (once a person said yes)."""
        return tuple(rule for rule in self.rules if rule.effect != "deny")
