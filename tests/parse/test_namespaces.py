"""Namespaces: -n in every form, -A, the request's namespace field, cluster-scoped resources."""

from __future__ import annotations

import pytest

from k8s_mcp_server.errors import CommandError
from k8s_mcp_server.parse import parse_command


def test_request_namespace_is_injected_when_the_command_has_none() -> None:
    parsed = parse_command("kubectl", "get pods", namespace="dev")
    assert parsed.argv == ("--namespace=dev", "get", "pods")
    assert parsed.namespaces == ("dev",)


def test_request_namespace_is_injected_for_helm_and_istioctl() -> None:
    assert parse_command("helm", "list", namespace="web").argv == ("--namespace=web", "list")
    assert parse_command("istioctl", "analyze", namespace="web").argv == ("--namespace=web", "analyze")


def test_request_namespace_equal_to_the_commands_is_not_injected_twice() -> None:
    parsed = parse_command("kubectl", "get pods -n dev", namespace="dev")
    assert parsed.argv == ("get", "pods", "-n", "dev")


@pytest.mark.parametrize("command", ["get pods -n prod", "get pods -nprod", "--namespace=prod get pods"])
def test_request_namespace_different_from_the_commands_is_refused(command: str) -> None:
    with pytest.raises(CommandError):
        parse_command("kubectl", command, namespace="dev")


def test_request_namespace_with_all_namespaces_is_refused() -> None:
    with pytest.raises(CommandError):
        parse_command("kubectl", "get pods -A", namespace="dev")


def test_request_namespace_for_argocd_is_refused_with_a_hint() -> None:
    with pytest.raises(CommandError, match="app-namespace"):
        parse_command("argocd", "app list", namespace="dev")


@pytest.mark.parametrize("bad", ["Dev", "a_b", "-A", "", "x" * 64, "../etc"])
def test_invalid_namespace_names_are_refused(bad: str) -> None:
    with pytest.raises(CommandError):
        parse_command("kubectl", "get pods", namespace=bad)


def test_namespace_flag_swallowing_the_next_flag_is_refused() -> None:
    # pflag gives "-A" to -n as its value; that is not a namespace name.
    with pytest.raises(CommandError):
        parse_command("kubectl", "get pods -n -A")


def test_default_namespace_comes_from_the_caller() -> None:
    assert parse_command("kubectl", "get pods", default_namespace="team-a").namespaces == ("team-a",)


def test_same_namespace_given_twice_is_accepted() -> None:
    assert parse_command("kubectl", "-n dev get pods -n dev").namespaces == ("dev",)


def test_cluster_scoped_only_when_every_resource_is_cluster_scoped() -> None:
    assert parse_command("kubectl", "get nodes,ns,pv,clusterroles").cluster_scoped
    assert not parse_command("kubectl", "get nodes,pods").cluster_scoped
    assert not parse_command("kubectl", "version").cluster_scoped


def test_kubectl_cp_records_the_namespace_in_its_pod_argument() -> None:
    parsed = parse_command("kubectl", "cp kube-system/etcd-0:/etc/kubernetes/pki x -n dev")
    assert parsed.namespaces == ("dev", "kube-system")
