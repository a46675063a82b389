"""The closed vocabulary the policy validator uses."""

from __future__ import annotations

import pytest

from k8s_mcp_server.contracts import CommandClass
from k8s_mcp_server.parse.vocabulary import (
    FILTERS,
    GUARDED_FLAGS,
    RESOURCES,
    TOOL_VERBS,
    canonical_resource,
    verb_class,
)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("po", "pods"),
        ("pod", "pods"),
        ("Pod", "pods"),
        ("Secret", "secrets"),
        ("secrets.v1.", "secrets"),
        ("deploy", "deployments"),
        ("deployments.apps", "deployments"),
        ("deployment.v1.apps", "deployments"),
        ("ing", "ingresses"),
        ("netpol", "networkpolicies"),
        ("NetworkPolicy", "networkpolicies"),
        ("crd", "customresourcedefinitions"),
        ("ep", "endpoints"),
        ("Widgets.Example.COM", "widgets.example.com"),
    ],
)
def test_canonical_resource_resolves_every_spelling(name: str, canonical: str) -> None:
    assert canonical_resource(name) == canonical


def test_resources_are_canonical_plurals() -> None:
    assert {"pods", "secrets", "deployments", "namespaces", "nodes"} <= RESOURCES
    assert all(canonical_resource(r) == r for r in RESOURCES)


def test_tool_verbs_include_paths_and_groups() -> None:
    assert {"get", "rollout restart", "rollout", "create secret generic"} <= TOOL_VERBS["kubectl"]
    assert {"list", "uninstall", "get values"} <= TOOL_VERBS["helm"]
    assert {"proxy-config", "proxy-config secret", "experimental describe pod"} <= TOOL_VERBS["istioctl"]
    assert {"app sync", "app", "account generate-token"} <= TOOL_VERBS["argocd"]
    assert "un" not in TOOL_VERBS["helm"]  # aliases are resolved, never listed


def test_filters_exclude_programs_that_run_code_or_decode_secrets() -> None:
    assert {"grep", "head", "tail", "wc", "sort", "jq"} <= FILTERS
    assert not {"awk", "sed", "xargs", "tee", "sh", "base64", "python"} & FILTERS


def test_guarded_flags_per_tool() -> None:
    assert {"kubeconfig", "token", "server", "as", "raw", "filename", "from-file", "v"} <= GUARDED_FLAGS[
        "kubectl"
    ]
    assert {"post-renderer", "kube-token", "values", "set-file", "repo"} <= GUARDED_FLAGS["helm"]
    assert {"server", "auth-token", "config", "header", "insecure"} <= GUARDED_FLAGS["argocd"]
    assert "namespace" not in GUARDED_FLAGS["kubectl"]


@pytest.mark.parametrize(
    ("tool", "verb", "cls"),
    [
        ("kubectl", "get", CommandClass.READ),
        ("kubectl", "exec", CommandClass.EXEC),
        ("kubectl", "create token", CommandClass.CREDENTIAL),
        ("kubectl", "rollout", CommandClass.UNKNOWN),
        ("kubectl", "top", CommandClass.READ),
        ("helm", "get values", CommandClass.SENSITIVE_READ),
        ("istioctl", "dashboard", CommandClass.EXEC),
        ("argocd", "nope", CommandClass.UNKNOWN),
        ("oc", "get", CommandClass.UNKNOWN),
    ],
)
def test_verb_class(tool: str, verb: str, cls: CommandClass) -> None:
    assert verb_class(tool, verb) is cls


def test_every_verb_path_has_a_class() -> None:
    for tool, verbs in TOOL_VERBS.items():
        for verb in verbs:
            assert isinstance(verb_class(tool, verb), CommandClass)
