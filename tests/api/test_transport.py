"""Host and Origin allow-lists (DNS rebinding protection)."""

from __future__ import annotations

import pytest

from k8s_mcp_server.api.transport import HostOriginGuard, default_allowed_hosts, needs_host_list
from k8s_mcp_server.errors import ProxyError

GUARD = HostOriginGuard(default_allowed_hosts(9096), ["http://localhost:3000"])


@pytest.mark.parametrize(
    "host", ["127.0.0.1:9096", "localhost:9096", "[::1]:9096", "127.0.0.1", "LOCALHOST:9096", "[::1]"]
)
def test_loopback_names_with_and_without_the_port_are_allowed_by_default(host: str) -> None:
    GUARD.check(host, None)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:9096",
        "127.0.0.1:9097",
        "localhost.evil.example:9096",
        "127.0.0.1:9096.evil.example",
        "",
        None,
        "0.0.0.0:9096",
    ],
)
def test_other_host_headers_are_forbidden_host(host: str | None) -> None:
    with pytest.raises(ProxyError) as info:
        GUARD.check(host, None)
    assert (info.value.code, info.value.status) == ("forbidden_host", 403)


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://localhost:3001", "http://localhost"]
)
def test_an_origin_not_listed_is_forbidden_origin(origin: str) -> None:
    with pytest.raises(ProxyError) as info:
        GUARD.check("127.0.0.1:9096", origin)
    assert (info.value.code, info.value.status) == ("forbidden_origin", 403)


def test_a_listed_origin_is_allowed_ignoring_case_and_a_trailing_slash() -> None:
    GUARD.check("127.0.0.1:9096", "http://LOCALHOST:3000/")


def test_without_listed_origins_every_origin_is_refused_but_no_origin_is_fine() -> None:
    guard = HostOriginGuard(default_allowed_hosts(9096), [])
    guard.check("localhost:9096", None)
    with pytest.raises(ProxyError):
        guard.check("localhost:9096", "http://localhost:9096")


def test_a_name_with_a_port_wildcard_allows_any_port_of_that_name_only() -> None:
    guard = HostOriginGuard(["mcp.example.com:*"], [])
    guard.check("mcp.example.com:443", None)
    for host in ("mcp.example.com", "mcp.example.com:x", "other.example.com:443", "xmcp.example.com:443"):
        with pytest.raises(ProxyError):
            guard.check(host, None)


def test_only_non_loopback_binds_need_a_host_list() -> None:
    assert (
        not needs_host_list("127.0.0.1") and not needs_host_list("::1") and not needs_host_list("localhost")
    )
    assert needs_host_list("0.0.0.0") and needs_host_list("10.0.0.5") and needs_host_list("::")  # noqa: S104
