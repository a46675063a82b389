"""Guarded-flag refusals give advice that fits what the caller wrote (policy/advice.py)."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from k8s_mcp_server.parse import parse_command
from k8s_mcp_server.parse.tools import EXTRA_GUARDED
from k8s_mcp_server.policy import evaluate, load_policy
from k8s_mcp_server.policy.advice import guarded_refusal
from tests.support.cluster import REPO

DEFAULT = load_policy(REPO / "policies" / "default.yaml")


def reason(tool: str, command: str) -> str:
    decision = evaluate(DEFAULT, parse_command(tool, command, namespace=None, default_namespace="default"))
    assert decision.rule == "builtin:guarded-flag", decision.reason
    return decision.reason


@pytest.mark.parametrize(
    ("tool", "command", "says", "never"),
    [
        ("helm", "install x ./chart", "a chart given as a local path", "X-Kubeconfig"),
        ("helm", "template x ./chart", "REPO/CHART", "--chart-path"),
        ("helm", "pull oci://registry.example.com/charts/x", "given by URL", "X-Kubeconfig"),
        (
            "helm",
            "repo add x https://charts.example.com",
            "ask the operator to add the repository",
            "--repo-url",
        ),
        (
            "kubectl",
            "get pods --kubeconfig /etc/k",
            "kubeconfig the request sends (X-Kubeconfig header)",
            "chart",
        ),
        (
            "kubectl",
            "get pods --token abcdef",
            "--token is refused: it chooses the cluster or the identity",
            "file",
        ),
        ("kubectl", "apply -f ./deploy.yaml", "a local file (-f/--filename)", "X-Kubeconfig"),
        ("kubectl", "get pods -v=9", "use -v=4 or less", "X-Kubeconfig"),
        ("kubectl", "get pods -o jsonpath-file=/etc/t", "put the template inline", "X-Kubeconfig"),
        (
            "argocd",
            "app list --server argocd.example.com",
            "the Argo CD the operator configured",
            "X-Kubeconfig",
        ),
    ],
)
def test_the_refusal_explains_the_flag_the_caller_wrote(
    tool: str, command: str, says: str, never: str
) -> None:
    text = reason(tool, command)
    assert says in text
    assert never not in text
    assert "under flags.allow" in text


def test_the_value_the_caller_wrote_is_never_in_the_reason() -> None:
    assert "deploy.yaml" not in reason("kubectl", "apply -f ./deploy.yaml")
    assert "abcdef" not in reason("kubectl", "get pods --token abcdef")
    assert "charts.example.com" not in reason("helm", "repo add x https://charts.example.com")


def test_every_guarded_flag_of_every_overlay_has_a_kind_and_so_advice() -> None:
    for tool in ("kubectl", "helm", "istioctl", "argocd"):
        text = resources.files("k8s_mcp_server.parse").joinpath("overlay", f"{tool}.yaml").read_text()
        section = text.split("  guarded:", 1)[1].split("\n  refused:", 1)[0]
        names = re.findall(r"^    - ([A-Za-z0-9-]+)", section, re.MULTILINE)
        assert names, tool
        for name in names:
            text_for = guarded_refusal(tool, [name], "r")
            assert "it reaches credentials or the proxy's files" not in text_for, (tool, name)


def test_every_name_an_analyzer_records_has_its_own_words() -> None:
    for tool, names in EXTRA_GUARDED.items():
        for name in names:
            text = guarded_refusal(tool, [name], "r")
            assert "it reaches credentials or the proxy's files" not in text, (tool, name)
