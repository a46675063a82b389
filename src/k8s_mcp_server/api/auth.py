"""Who is calling: API keys stored as SHA-256 hashes, or `anonymous` on loopback only."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml

from k8s_mcp_server.errors import Unauthenticated

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    principal: str
    sha256: bytes
    policy: Path | None = None


def load_api_keys(path: Path) -> tuple[ApiKey, ...]:
    """Read the keys file; any problem is fatal at start (fail closed), with the entry named."""
    with path.open("rb") as fh:
        doc = yaml.safe_load(fh)
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a mapping with a `keys:` list")
    keys: list[ApiKey] = []
    for i, entry in enumerate(entries):
        where = f"{path}: keys[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"principal", "sha256", "policy"}:
            raise ValueError(f"{where}: expected only `principal`, `sha256` and optional `policy`")
        principal, digest = entry.get("principal"), str(entry.get("sha256", "")).lower()
        if not isinstance(principal, str) or not principal:
            raise ValueError(f"{where}: `principal` must be a non-empty string")
        if len(digest) != 64 or not set(digest) <= _HEX:
            raise ValueError(f"{where}: `sha256` must be 64 hex digits (sha256sum of the key)")
        policy = entry.get("policy")
        keys.append(
            ApiKey(principal=principal, sha256=bytes.fromhex(digest), policy=Path(policy) if policy else None)
        )
    return tuple(keys)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Authenticator:
    """Maps an Authorization header to a principal, comparing hashes in constant time."""

    def __init__(self, keys: tuple[ApiKey, ...]) -> None:
        self.keys = keys

    def principal(self, authorization: str | None, source_ip: str | None) -> ApiKey | None:
        """The key that matched, or None for anonymous loopback access; raises Unauthenticated."""
        if not self.keys:
            if is_loopback(source_ip):
                return None
            raise Unauthenticated("this server has no API keys configured and only serves loopback clients")
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send `Authorization: Bearer <api key>`")
        digest = hashlib.sha256(token.strip().encode()).digest()
        match: ApiKey | None = None
        for key in self.keys:  # compare against every key: timing does not reveal which matched
            if hmac.compare_digest(digest, key.sha256):
                match = key
        if match is None:
            raise Unauthenticated("the API key is not valid")
        return match
