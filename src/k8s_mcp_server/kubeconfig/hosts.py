"""Parse server and proxy URLs strictly and decide whether the proxy may connect to them.

Pure: no DNS. The parser accepts a narrow form (`scheme://host[:port][/path]`, printable ASCII, no
userinfo, no percent-encoding, no query) so that Go's `net/url` in kubectl cannot read the URL
differently from this code. A host ending in a number must be a dotted-decimal IPv4 address: other
forms (`2852039166`, `0xA9FEA9FE`, `0251.0376.0251.0376`) are how resolvers get tricked into metadata
addresses, so they are refused rather than interpreted.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
HostKey = IPAddress | str  # an address, or a lower-case hostname without its trailing dot

# Names that resolve to cloud metadata services, with or without the search domain.
METADATA_HOSTNAMES = frozenset(
    {"metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal"}
)

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL)
_AUTHORITY = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPAT = ipaddress.IPv6Network("::/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT, RFC 6052/6145


class HostError(ValueError):
    """A URL or host this code will not use. `kind` picks the error code; the message names no secret."""

    def __init__(self, kind: Literal["invalid", "unsafe"], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    scheme: str
    host: HostKey
    port: int  # the explicit port, or the scheme's default


@dataclass(frozen=True, kw_only=True)
class DeniedHost:
    host: HostKey
    port: int | None  # None: every port


def parse_host(text: str) -> HostKey:
    """A URL host (IPv6 in brackets) as an address or a normalised hostname; raises `HostError`."""
    if text.startswith("["):
        try:
            return ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            raise HostError("invalid", "its host is not a valid IPv6 address") from None
    name = text.lower()
    name = name.removesuffix(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise HostError("invalid", "its host is not a valid hostname or IP address")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        if not _DOTTED_QUAD.fullmatch(name):
            raise HostError(
                "unsafe",
                f"its host {text!r} is an IPv4 address in a non-standard form; "
                "write the address in dotted decimal (a.b.c.d) or use the hostname",
            )
        return ipaddress.IPv4Address(name)
    return name


def parse_url(url: str, default_ports: dict[str, int]) -> Endpoint:
    """Split `url` into scheme, host and port; the scheme must be a key of `default_ports`."""
    if not url.isascii() or not url.isprintable() or " " in url or "\\" in url:
        raise HostError(
            "invalid",
            "it must be printable ASCII without spaces or backslashes "
            "(write a non-ASCII hostname in its xn-- form)",
        )
    match = _URL.fullmatch(url)
    if match is None:
        expected = " or ".join(f"{s}://" for s in default_ports)
        raise HostError("invalid", f"it must be a URL starting with {expected}")
    scheme = match["scheme"].lower()
    if scheme not in default_ports:
        allowed = ", ".join(f"{s}://" for s in default_ports)
        raise HostError("unsafe", f"its scheme {scheme!r} is not allowed; use {allowed}")
    authority = match["authority"]
    if "@" in authority:
        raise HostError("unsafe", "it carries credentials before the host (user@host); move them to the user")
    if "?" in match["rest"] or "#" in match["rest"] or "%" in url:
        raise HostError("invalid", "it must not contain a query, a fragment or percent-encoding")
    parts = _AUTHORITY.fullmatch(authority)
    if parts is None:
        raise HostError("invalid", "its host[:port] is not valid")
    port = default_ports[scheme] if parts["port"] is None else int(parts["port"])
    if not 0 < port < 65536:
        raise HostError("invalid", "its port must be between 1 and 65535")
    return Endpoint(scheme=scheme, host=parse_host(parts["host"]), port=port)


def parse_denied_host(entry: str) -> DeniedHost:
    """A configured denied host: `host`, `host:port`, `[v6]:port` or a bare IPv6 address."""
    text = entry.strip()
    if text.count(":") > 1 and not text.startswith("["):
        text = f"[{text}]"
    parts = _AUTHORITY.fullmatch(text)
    if parts is None:
        raise ValueError(f"denied host {entry!r} is not host or host:port")
    try:
        host = parse_host(parts["host"])
    except HostError as exc:
        raise ValueError(f"denied host {entry!r}: {exc.message}") from None
    return DeniedHost(host=host, port=None if parts["port"] is None else int(parts["port"]))


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, translated, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if (address in _COMPAT and int(address) > 1) or address in _NAT64 or address in _TRANSLATED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_local(host: HostKey) -> bool:
    if isinstance(host, str):
        return host == "localhost" or host.endswith(".localhost")
    if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
        host = host.ipv4_mapped
    return host.is_loopback or host.is_unspecified


def _same_host(url_host: HostKey, denied: HostKey) -> bool:
    # A server listening on a loopback or wildcard address is reachable through every local name.
    if _is_local(denied):
        return _is_local(url_host)
    if isinstance(url_host, ipaddress.IPv6Address) and url_host.ipv4_mapped is not None:
        url_host = url_host.ipv4_mapped
    return url_host == denied


def refusal(
    endpoint: Endpoint,
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
    denied_hosts: tuple[DeniedHost, ...],
) -> str | None:
    """Why the proxy must not connect to `endpoint`, or None when it may."""
    host = endpoint.host
    if isinstance(host, str) and host in METADATA_HOSTNAMES:
        return f"its host {host!r} is a cloud metadata service"
    for denied in denied_hosts:
        if _same_host(host, denied.host) and denied.port in (None, endpoint.port):
            return "it points at an address this server refuses (the proxy's own listen address)"
    if not isinstance(host, str):
        candidates: list[IPAddress] = [host]
        if isinstance(host, ipaddress.IPv6Address) and (inner := embedded_ipv4(host)) is not None:
            candidates.append(inner)
        for address in candidates:
            for network in networks:
                if address in network:
                    return f"its address {address} is in the denied network {network} (link-local/metadata)"
    return None
