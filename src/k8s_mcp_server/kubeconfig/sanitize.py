"""Write the minimal kubeconfig for a run: the selected context, its cluster and its user, nothing else."""

from __future__ import annotations

from typing import Any

import yaml

from k8s_mcp_server.kubeconfig.schema import Document


class _QuotingDumper(yaml.SafeDumper):
    """Double-quotes every value, so no YAML reader (Go's included) reads "no" or "0x1" as a non-string.

    Keys are our own field names and stay plain; nothing is ever written as an anchor or alias.
    """

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_mapping(self, tag: str, mapping: Any, flow_style: bool | None = None) -> yaml.MappingNode:
        node = super().represent_mapping(tag, mapping, flow_style)
        for key_node, _ in node.value:
            key_node.style = None
        return node


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')


_QuotingDumper.add_representer(str, _represent_str)


def sanitized_yaml(document: Document, cluster: dict[str, Any], user: dict[str, Any] | None) -> bytes:
    """A fresh kubeconfig document built from cleaned fields; the caller's text is never copied."""
    context: dict[str, Any] = {"cluster": document.cluster.name}
    if document.user is not None:
        context["user"] = document.user.name
    if document.namespace is not None:
        context["namespace"] = document.namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": document.cluster.name, "cluster": cluster}],
        "users": [] if document.user is None else [{"name": document.user.name, "user": user or {}}],
        "contexts": [{"name": document.context.name, "context": context}],
        "current-context": document.context.name,
    }
    text = yaml.dump(config, Dumper=_QuotingDumper, sort_keys=False, width=1 << 30, allow_unicode=False)
    return text.encode("utf-8")
