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


# --- TEMPORARY until k8s_mcp_server.parse.vocabulary lands: delete this block then ---
import pytest  # noqa: E402

from k8s_mcp_server.policy import vocab as _vocab_module  # noqa: E402


@pytest.fixture(autouse=True)
def _stub_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import k8s_mcp_server.parse.vocabulary  # noqa: F401
    except ImportError:
        pass
    else:
        return
    aliases = {
        "po": "pods",
        "deploy": "deployments",
        "ns": "namespaces",
        "secret": "secrets",
        "pod": "pods",
        "namespace": "namespaces",
    }
    reads = {
        "get",
        "describe",
        "logs",
        "events",
        "explain",
        "top",
        "rollout status",
        "version",
        "api-resources",
    }
    kverbs = reads | {
        "delete",
        "apply",
        "scale",
        "rollout restart",
        "rollout undo",
        "set image",
        "patch",
        "annotate",
        "label",
        "exec",
        "port-forward",
        "create token",
        "create",
        "edit",
        "cp",
        "attach",
        "debug",
        "proxy",
        "config view",
    }
    verbs = {
        "kubectl": frozenset(kverbs),
        "helm": frozenset(
            {
                "list",
                "status",
                "history",
                "get values",
                "get manifest",
                "install",
                "uninstall",
                "upgrade",
                "rollback",
                "version",
            }
        ),
        "istioctl": frozenset({"proxy-config", "proxy-status", "analyze", "version", "install", "dashboard"}),
        "argocd": frozenset(
            {"app list", "app get", "app sync", "app delete", "version", "account generate-token"}
        ),
    }
    classes = {
        "delete": "write",
        "apply": "write",
        "scale": "write",
        "rollout restart": "write",
        "rollout undo": "write",
        "set image": "write",
        "patch": "write",
        "annotate": "write",
        "label": "write",
        "create": "write",
        "edit": "write",
        "install": "write",
        "uninstall": "write",
        "upgrade": "write",
        "rollback": "write",
        "app sync": "write",
        "app delete": "write",
        "exec": "exec",
        "port-forward": "exec",
        "cp": "exec",
        "attach": "exec",
        "debug": "exec",
        "proxy": "exec",
        "dashboard": "exec",
        "create token": "credential",
        "account generate-token": "credential",
        "get values": "sensitive-read",
        "version": "local",
        "config view": "local",
    }
    resources = frozenset(
        {
            "pods",
            "deployments",
            "secrets",
            "configmaps",
            "namespaces",
            "nodes",
            "services",
            "events",
            "replicasets",
            "statefulsets",
            "serviceaccounts",
            "pods.metrics.k8s.io",
        }
    )
    stub = _vocab_module.Vocabulary(
        tools=("kubectl", "helm", "istioctl", "argocd"),
        tool_verbs=verbs,
        resources=resources,
        canonical_resource=lambda n: aliases.get(n, n),
        guarded_flags={
            "kubectl": frozenset({"kubeconfig", "server", "token", "as", "raw", "filename"}),
            "helm": frozenset({"kubeconfig", "post-renderer", "values"}),
        },
        filters=frozenset({"grep", "head", "tail", "wc", "sort", "jq", "uniq", "cut"}),
        verb_class=lambda tool, verb: CommandClass(classes.get(verb, "read")),
    )
    from k8s_mcp_server.policy import decide as ev, validate as va

    monkeypatch.setattr(va, "parser_vocabulary", lambda: stub)
    monkeypatch.setattr(ev, "parser_vocabulary", lambda: stub)
