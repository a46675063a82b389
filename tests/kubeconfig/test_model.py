"""KubeconfigPolicy construction and the Kubeconfig repr."""

from __future__ import annotations

import ipaddress

import pytest

from k8s_mcp_server.contracts import ClusterRef
from k8s_mcp_server.kubeconfig import Kubeconfig, KubeconfigPolicy
from k8s_mcp_server.kubeconfig.hosts import DeniedHost
from k8s_mcp_server.settings import Settings


def test_policy_from_settings_denies_the_proxys_own_listen_address() -> None:
    policy = KubeconfigPolicy.from_settings(Settings(host="::1", port=9100, allow_proxy_url=True))
    assert policy.denied_hosts == ("[::1]:9100",)
    assert policy.hosts == (DeniedHost(host=ipaddress.IPv6Address("::1"), port=9100),)
    assert policy.allow_proxy_url is True
    assert policy.allow_insecure_tls is False
    assert ipaddress.ip_network("169.254.0.0/16") in policy.networks


def test_policy_defaults_deny_the_metadata_networks() -> None:
    assert {str(n) for n in KubeconfigPolicy().networks} == {
        "169.254.0.0/16",
        "fe80::/10",
        "100.100.100.200/32",
        "fd00:ec2::254/128",
    }


@pytest.mark.parametrize(
    "kwargs", [{"denied_networks": ("not-a-network",)}, {"denied_hosts": ("a b",)}, {"max_bytes": 0}]
)
def test_a_bad_policy_is_refused_when_built(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        KubeconfigPolicy(**kwargs)  # type: ignore[arg-type]


def test_kubeconfig_repr_hides_sanitized_bytes_and_credentials() -> None:
    loaded = Kubeconfig(
        sanitized=b"token: s3cr3t-canary",
        cluster=ClusterRef(server="https://k8s.example.com", fingerprint="sha256:ab"),
        credentials=("s3cr3t-canary",),
    )
    assert "s3cr3t" not in repr(loaded)
    assert "k8s.example.com" not in repr(loaded)
    assert (
        repr(loaded)
        == "Kubeconfig(fingerprint='sha256:ab', sanitized=<20 bytes hidden>, credentials=<1 hidden>)"
    )
