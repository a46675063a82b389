"""The four tools: their command specs and analyzers, in one registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from k8s_mcp_server.parse import argocd, helm, istioctl, kubectl, kubectl_spec
from k8s_mcp_server.parse.facts import Facts
from k8s_mcp_server.parse.grammar import Scan, ToolSpec

SPECS: Mapping[str, ToolSpec] = MappingProxyType(
    {"kubectl": kubectl_spec.SPEC, "helm": helm.SPEC, "istioctl": istioctl.SPEC, "argocd": argocd.SPEC}
)
ANALYZERS: Mapping[str, Callable[[Scan], Facts]] = MappingProxyType(
    {"kubectl": kubectl.analyze, "helm": helm.analyze, "istioctl": istioctl.analyze, "argocd": argocd.analyze}
)
# Guarded names an analyzer records beyond the flag tables (see each tool module's docstring).
EXTRA_GUARDED: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "kubectl": frozenset({"v", "output", "filename", "kustomize"}),
        "helm": frozenset({"output", "chart-path", "chart-url", "repo-url"}),
        "istioctl": frozenset({"output", "filename"}),
        "argocd": frozenset({"output", "server"}),
    }
)
