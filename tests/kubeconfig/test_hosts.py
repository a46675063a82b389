"""URL and host parsing: one strict reading, and refusal of metadata, denied networks and the proxy itself."""

from __future__ import annotations

import ipaddress

import pytest

from k8s_mcp_server.kubeconfig.hosts import (
    HostError,
    embedded_ipv4,
    parse_denied_host,
    parse_host,
    parse_url,
    refusal,
)
from k8s_mcp_server.kubeconfig.model import KubeconfigPolicy

HTTPS = {"https": 443}
POLICY = KubeconfigPolicy(denied_hosts=("127.0.0.1:9096", "blocked.example"))


def why(url: str, policy: KubeconfigPolicy = POLICY) -> str | None:
    return refusal(parse_url(url, HTTPS), policy.networks, policy.hosts)


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("https://k8s.example.com", "k8s.example.com", 443),
        ("HTTPS://K8S.Example.COM.:6443/rancher/k8s/clusters/c-1", "k8s.example.com", 6443),
        ("https://10.0.0.1:6443", ipaddress.IPv4Address("10.0.0.1"), 6443),
        ("https://[2001:db8::1]:6443", ipaddress.IPv6Address("2001:db8::1"), 6443),
        ("https://my_cluster.internal", "my_cluster.internal", 443),
        ("https://v1.k8s2", "v1.k8s2", 443),  # the last label is not a number: a hostname
    ],
)
def test_ordinary_server_urls_parse_to_host_and_port(url: str, host: object, port: int) -> None:
    endpoint = parse_url(url, HTTPS)
    assert (endpoint.host, endpoint.port) == (host, port)
    assert why(url) is None


@pytest.mark.parametrize(
    "host",
    [
        "2852039166",
        "0xa9fea9fe",
        "0xA9FEA9FE",
        "0251.0376.0251.0376",
        "169.254.43518",
        "1.2.3.04",
        "0x",
        "v1.2",
        "1.2.3",
    ],
)
def test_integer_hex_octal_and_short_ipv4_forms_are_refused_as_unsafe(host: str) -> None:
    with pytest.raises(HostError) as caught:
        parse_host(host)
    assert caught.value.kind == "unsafe"


@pytest.mark.parametrize("host", ["", ".", "a..b", "-a.example", "a" * 64 + ".example", "[::g]", "[1.2.3.4]"])
def test_malformed_hosts_are_invalid(host: str) -> None:
    with pytest.raises(HostError) as caught:
        parse_host(host)
    assert caught.value.kind == "invalid"


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:169.254.169.254", "169.254.169.254"),
        ("::169.254.169.254", "169.254.169.254"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("::ffff:0:a9fe:a9fe", "169.254.169.254"),
        ("2002:a9fe:a9fe::", "169.254.169.254"),
        ("::1", None),
        ("::", None),
        ("2001:db8::1", None),
    ],
)
def test_ipv4_addresses_inside_ipv6_are_found(address: str, inner: str | None) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(address))
    assert (None if found is None else str(found)) == inner


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:9096",
        "https://127.1.2.3:9096",
        "https://localhost:9096",
        "https://api.localhost:9096",
        "https://0.0.0.0:9096",
        "https://[::1]:9096",
        "https://[::]:9096",
        "https://blocked.example",
        "https://BLOCKED.example.:8443",
    ],
)
def test_denied_hosts_match_every_name_for_the_same_place(url: str) -> None:
    assert why(url) is not None


@pytest.mark.parametrize("url", ["https://127.0.0.1:6443", "https://localhost", "https://unblocked.example"])
def test_denied_hosts_leave_other_ports_and_names_alone(url: str) -> None:
    assert why(url) is None


def test_a_wildcard_listen_address_denies_loopback_on_its_port() -> None:
    policy = KubeconfigPolicy(denied_hosts=("0.0.0.0:9096",))
    assert why("https://127.0.0.1:9096", policy) is not None
    assert why("https://127.0.0.1:9097", policy) is None


def test_denied_networks_come_from_the_policy() -> None:
    policy = KubeconfigPolicy(denied_networks=("10.0.0.0/8",))
    assert why("https://10.1.2.3", policy) is not None
    assert why("https://169.254.169.254", policy) is None


@pytest.mark.parametrize(
    ("entry", "host", "port"),
    [
        ("127.0.0.1:9096", ipaddress.IPv4Address("127.0.0.1"), 9096),
        ("[::1]:9096", ipaddress.IPv6Address("::1"), 9096),
        ("::1", ipaddress.IPv6Address("::1"), None),
        ("Proxy.Example", "proxy.example", None),
    ],
)
def test_denied_host_entries_parse_with_optional_port(entry: str, host: object, port: int | None) -> None:
    denied = parse_denied_host(entry)
    assert (denied.host, denied.port) == (host, port)


@pytest.mark.parametrize("entry", ["", "a b", "host:port", "2852039166"])
def test_bad_denied_host_entries_are_a_configuration_error(entry: str) -> None:
    with pytest.raises(ValueError, match="denied host"):
        parse_denied_host(entry)
