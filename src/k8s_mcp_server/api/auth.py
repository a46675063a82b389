"""Who is calling: API keys stored as SHA-256 hashes, or `anonymous` on loopback only."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from k8s_mcp_server.errors import Unauthenticated
from k8s_mcp_server.keys import ApiKey, KeyStore, load_api_keys

__all__ = ["ApiKey", "Authenticator", "is_loopback", "load_api_keys"]


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Authenticator:
    """Maps an Authorization header to a principal, comparing hashes in constant time.

    With a KeyStore, keys are re-read when the file changes (a removed key stops working within a
    second); a keys file that is configured but broken lets nobody in.
    """

    def __init__(self, keys: KeyStore | tuple[ApiKey, ...]) -> None:
        self.store = keys if isinstance(keys, KeyStore) else None
        self._static = keys if isinstance(keys, tuple) else ()

    @property
    def configured(self) -> bool:
        return self.store is not None or bool(self._static)

    def keys(self) -> tuple[ApiKey, ...]:
        return self.store.current() if self.store is not None else self._static

    def principal(self, authorization: str | None, source_ip: str | None) -> ApiKey | None:
        """The key that matched, or None for anonymous loopback access; raises Unauthenticated."""
        if not self.configured:
            if is_loopback(source_ip):
                return None
            raise Unauthenticated("this server has no API keys configured and only serves loopback clients")
        keys = self.keys()
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send `Authorization: Bearer <api key>`")
        if self.store is not None and self.store.broken:
            raise Unauthenticated("the server's API keys file is not usable: ask the operator to fix it")
        digest = hashlib.sha256(token.strip().encode()).digest()
        match: ApiKey | None = None
        for key in keys:  # compare against every key: timing does not reveal which matched
            if hmac.compare_digest(digest, key.sha256):
                match = key
        if match is None:
            raise Unauthenticated("the API key is not valid")
        return match
