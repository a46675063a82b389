"""The server-side default kubeconfig: off by default, a file, or the pod's service account."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from k8s_mcp_server.errors import KubeconfigError
from k8s_mcp_server.kubeconfig import KubeconfigPolicy, default_kubeconfig
from k8s_mcp_server.kubeconfig.default import InClusterKubeconfig
from k8s_mcp_server.settings import Settings
from tests.kubeconfig.factory import CA_PEM, config

TOKEN = "eyJhbGciOiJSUzI1NiJ9.canary-sa-token-5e1f"
ENV = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def service_account(folder: Path, *, token: str = TOKEN, namespace: str | None = "tools") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token").write_text(token)
    (folder / "ca.crt").write_text(CA_PEM)
    if namespace is not None:
        (folder / "namespace").write_text(namespace)
    return folder


def in_cluster(folder: Path, environ: dict[str, str] | None = None) -> InClusterKubeconfig:
    loaded = default_kubeconfig(
        file=None,
        in_cluster=True,
        service_account_dir=folder,
        policy=KubeconfigPolicy(),
        environ=ENV if environ is None else environ,
    )
    assert isinstance(loaded, InClusterKubeconfig)
    return loaded


def test_no_default_kubeconfig_unless_one_is_enabled(tmp_path: Path) -> None:
    service_account(tmp_path / "sa")
    assert (
        default_kubeconfig(
            file=None,
            in_cluster=False,
            service_account_dir=tmp_path / "sa",
            policy=KubeconfigPolicy(),
            environ=ENV,
        )
        is None
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.in_cluster is False and settings.default_kubeconfig is None


def test_the_service_account_becomes_a_kubeconfig_for_the_api_service(tmp_path: Path) -> None:
    loaded = in_cluster(service_account(tmp_path / "sa")).get()
    doc = yaml.safe_load(loaded.sanitized)
    assert doc["clusters"][0]["cluster"]["server"] == "https://10.96.0.1:443"
    assert doc["clusters"][0]["cluster"]["certificate-authority-data"]
    assert doc["users"][0]["user"] == {"token": TOKEN}
    assert doc["contexts"][0]["context"]["namespace"] == "tools"
    assert loaded.cluster.context_namespace == "tools"
    assert loaded.cluster.server == "https://10.96.0.1:443"
    assert TOKEN in loaded.credentials  # the redactor removes the server's own token from output
    assert str(tmp_path) not in loaded.sanitized.decode()  # no file paths: the data is embedded


def test_an_ipv6_service_host_is_bracketed_and_the_port_defaults_to_443(tmp_path: Path) -> None:
    loaded = in_cluster(service_account(tmp_path / "sa"), {"KUBERNETES_SERVICE_HOST": "fd00::1"}).get()
    assert loaded.cluster.server == "https://[fd00::1]:443"


def test_without_a_namespace_file_the_context_has_no_namespace(tmp_path: Path) -> None:
    loaded = in_cluster(service_account(tmp_path / "sa", namespace=None)).get()
    assert loaded.cluster.context_namespace is None


def test_a_rotated_token_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    folder = service_account(tmp_path / "sa")
    provider = in_cluster(folder)
    assert TOKEN in provider.get().credentials
    rotated = TOKEN + "-rotated"
    (folder / "token.new").write_text(rotated)
    os.replace(folder / "token.new", folder / "token")  # the kubelet swaps files atomically
    assert rotated in provider.get().credentials
    assert provider.get() is provider.get()  # unchanged file: the same object, nothing re-read


def test_a_token_missing_for_a_moment_keeps_the_last_kubeconfig(tmp_path: Path) -> None:
    folder = service_account(tmp_path / "sa")
    provider = in_cluster(folder)
    before = provider.get()
    (folder / "token").unlink()
    assert provider.get() is before


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({}, "KUBERNETES_SERVICE_HOST"),
        ({**ENV, "KUBERNETES_SERVICE_PORT": "https"}, "KUBERNETES_SERVICE_PORT"),
    ],
)
def test_in_cluster_outside_a_pod_fails_at_start_naming_the_variable(
    tmp_path: Path, environ: dict[str, str], needle: str
) -> None:
    with pytest.raises(KubeconfigError) as info:
        in_cluster(service_account(tmp_path / "sa"), environ)
    assert info.value.code == "invalid_kubeconfig"
    assert needle in info.value.message


@pytest.mark.parametrize("missing", ["token", "ca.crt"])
def test_a_missing_service_account_file_fails_at_start_naming_the_file(tmp_path: Path, missing: str) -> None:
    folder = service_account(tmp_path / "sa")
    (folder / missing).unlink()
    with pytest.raises(KubeconfigError) as info:
        in_cluster(folder)
    assert str(folder / missing) in info.value.message
    assert TOKEN not in info.value.message


def test_an_empty_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError) as info:
        in_cluster(service_account(tmp_path / "sa", token="\n"))
    assert "empty" in info.value.message


def test_a_service_host_in_a_denied_network_is_unsafe(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError) as info:
        in_cluster(service_account(tmp_path / "sa"), {"KUBERNETES_SERVICE_HOST": "169.254.169.254"})
    assert info.value.code == "unsafe_kubeconfig"
    assert TOKEN not in info.value.message


def test_a_file_and_in_cluster_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config()))
    with pytest.raises(KubeconfigError) as info:
        default_kubeconfig(
            file=path, in_cluster=True, service_account_dir=tmp_path, policy=KubeconfigPolicy(), environ=ENV
        )
    assert "choose one" in info.value.message


def test_a_default_file_is_loaded_once_with_the_callers_checks(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config()))
    loaded = default_kubeconfig(
        file=path, in_cluster=False, service_account_dir=tmp_path, policy=KubeconfigPolicy(), environ={}
    )
    assert loaded is not None
    assert loaded.get() is loaded.get()
    path.write_text(yaml.safe_dump(config(**{"users.0.user.tokenFile": "/etc/passwd"})))
    with pytest.raises(KubeconfigError) as info:
        default_kubeconfig(
            file=path, in_cluster=False, service_account_dir=tmp_path, policy=KubeconfigPolicy(), environ={}
        )
    assert info.value.code == "unsafe_kubeconfig"


def test_settings_read_the_in_cluster_switch_and_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("K8S_MCP_IN_CLUSTER", "true")
    monkeypatch.setenv("K8S_MCP_SERVICE_ACCOUNT_DIR", str(tmp_path))
    settings = Settings()
    assert settings.in_cluster is True
    assert settings.service_account_dir == tmp_path
