"""Helpers for policy tests: compile policy text, build ParsedCommand values directly."""

from __future__ import annotations

import textwrap
from typing import Any

from k8s_mcp_server.contracts import CommandClass, ParsedCommand
from k8s_mcp_server.policy import CompiledPolicy, compile_policy


def policy_of(text: str) -> CompiledPolicy:
    return compile_policy(textwrap.dedent(text), source="p.yaml")


def cmd(verb: str = "get", **kw: Any) -> ParsedCommand:
    """A ParsedCommand as the parser would build it: kubectl get pods in dev, unless told otherwise."""
    values: dict[str, Any] = {
        "tool": "kubectl",
        "argv": (verb,),
        "verb": verb,
        "command_class": CommandClass.READ,
        "resources": ("pods",),
        "namespaces": ("dev",),
    }
    values.update(kw)
    return ParsedCommand(**values)
