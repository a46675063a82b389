"""An issuer's signing keys: discovered (RFC 8414 / OpenID Connect metadata -> `jwks_uri`) or read
from a static JWKS file.

Discovered keys are fetched on the first token, cached, re-fetched an hour after the last fetch,
and re-fetched at once when a token names a `kid` the cache does not hold (the issuer rotated its
key) -- at most once per `min_refetch` seconds, so made-up kids cannot turn into a flood of fetches.
Every fetch is async, bounded in time and size, follows no redirect, and happens under one lock per
issuer (a burst of new-kid tokens causes one fetch). A file is re-read when it changes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.identity.config import check_url
from k8s_mcp_server.watched import CHECK_INTERVAL, Polled, Signature, read_stable, signature

FETCH_TIMEOUT = 5.0  # one metadata or JWKS fetch: a slow issuer must not hold a request longer
MAX_DOCUMENT_BYTES = 512 * 1024  # a metadata document or JWKS is a few KiB
REFRESH_AFTER = 3600.0  # keys are re-fetched this long after the last fetch, unknown kid or not
MAX_KEYS = 64

# Which algorithms a key type can verify: a JWK without `alg` is bound to the token's algorithm only
# within its own family (an RSA key never verifies an EC or HMAC signature).
_FAMILIES = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512"}),
    "OKP": frozenset({"EdDSA"}),
}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


class IssuerUnavailable(ProxyError):
    """The issuer's metadata or keys cannot be fetched now: the token cannot be checked (fail closed)."""

    code = "issuer_unavailable"
    status = 503


def parse_jwks(data: bytes, where: str) -> dict[str, dict[str, Any]]:
    """The signature keys of a JWKS document by kid (a key without kid is filed under ""); ValueError
    names the problem, never a key. Symmetric keys and private key material are refused outright."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{where}: the JWKS is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"{where}: not a JSON document") from None
    keys = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(keys, list) or len(keys) > MAX_KEYS:
        raise ValueError(f"{where}: expected an object with a `keys` list (at most {MAX_KEYS})")
    found: dict[str, dict[str, Any]] = {}
    for i, key in enumerate(keys):
        if not isinstance(key, dict):
            raise ValueError(f"{where}: keys[{i}] is not an object")
        if key.get("kty") == "oct" or any(member in key for member in _PRIVATE_MEMBERS):
            raise ValueError(f"{where}: keys[{i}] is a secret or private key; a JWKS publishes public keys")
        if key.get("use", "sig") != "sig" or key.get("kty") not in _FAMILIES:
            continue  # encryption keys and key types we do not verify with
        kid = key.get("kid", "")
        if not isinstance(kid, str):
            raise ValueError(f"{where}: keys[{i}].kid is not a string")
        found[kid] = key
    return found


def bind_key(jwk: Mapping[str, Any], alg: str) -> PyJWK | None:
    """The key bound to `alg`, or None when the key cannot verify that algorithm."""
    family = _FAMILIES.get(str(jwk.get("kty")), frozenset())
    declared = jwk.get("alg")
    if alg not in family or (declared is not None and declared != alg):
        return None
    try:
        return PyJWK(dict(jwk), algorithm=alg)
    except PyJWKError:
        return None


class KeySource:
    """Hands out the verification key for (kid, alg), or None when the issuer publishes no such key."""

    issuer: str

    async def key(self, kid: str | None, alg: str) -> PyJWK | None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


def _pick(keys: Mapping[str, dict[str, Any]], kid: str | None, alg: str) -> PyJWK | None:
    if kid is not None:
        jwk = keys.get(kid)
        return bind_key(jwk, alg) if jwk is not None else None
    candidates = [bound for jwk in keys.values() if (bound := bind_key(jwk, alg)) is not None]
    return candidates[0] if len(candidates) == 1 else None  # no kid: only an unambiguous key


class _Cache:
    """Bound keys by (kid, alg): building an RSA key from its JWK costs more than verifying with it."""

    def __init__(self) -> None:
        self._bound: dict[tuple[str | None, str], PyJWK] = {}

    def get(self, keys: Mapping[str, dict[str, Any]], kid: str | None, alg: str) -> PyJWK | None:
        hit = self._bound.get((kid, alg))
        if hit is not None:
            return hit
        bound = _pick(keys, kid, alg)
        if bound is not None:
            self._bound[(kid, alg)] = bound
        return bound

    def clear(self) -> None:
        self._bound.clear()


def metadata_urls(issuer: str) -> tuple[str, ...]:
    """RFC 8414 (well-known inserted before the path), then OpenID Connect Discovery (appended)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    inserted = urlunsplit(
        (parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + path, "", "")
    )
    appended = urlunsplit((parts.scheme, parts.netloc, path + "/.well-known/openid-configuration", "", ""))
    return (inserted, appended)


class DiscoveredKeys(KeySource):
    def __init__(
        self,
        issuer: str,
        client: httpx.AsyncClient,
        *,
        min_refetch: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._client = client
        self._min_refetch = min_refetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._keys: dict[str, dict[str, Any]] | None = None
        self._jwks_uri: str | None = None
        self._fetched_at = 0.0
        self._cache = _Cache()
        self.fetches = 0
        self.last_error: str | None = None

    async def key(self, kid: str | None, alg: str) -> PyJWK | None:
        keys = self._keys
        if keys is None or self._clock() - self._fetched_at >= REFRESH_AFTER:
            keys = await self._refetch(force=keys is None)
        found = self._cache.get(keys, kid, alg)
        if found is None and kid is not None and kid not in keys:
            keys = await self._refetch(force=False)  # rotated? rate-limited inside
            found = self._cache.get(keys, kid, alg)
        return found

    def describe(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self._jwks_uri,
            "keys": None if self._keys is None else len(self._keys),
            "fetches": self.fetches,
            "last_error": self.last_error,
        }

    async def _refetch(self, *, force: bool) -> dict[str, dict[str, Any]]:
        async with self._lock:
            if self._keys is not None and not force and self._clock() - self._fetched_at < self._min_refetch:
                return self._keys  # fetched a moment ago (by us or a concurrent request)
            try:
                keys = await self._fetch()
            except ValueError as exc:
                self.last_error = str(exc)
                if self._keys is not None:
                    self._fetched_at = self._clock()  # keep the keys we have; retry after min_refetch
                    return self._keys
                raise IssuerUnavailable(
                    "the token's issuer cannot be reached to check its signature; try again shortly"
                ) from None
            self._keys, self._fetched_at, self.last_error = keys, self._clock(), None
            self._cache.clear()
            self.fetches += 1
            return keys

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        if self._jwks_uri is None:
            self._jwks_uri = await self._discover()
        return parse_jwks(await self._get(self._jwks_uri), f"JWKS of {self.issuer}")

    async def _discover(self) -> str:
        problems: list[str] = []
        for url in metadata_urls(self.issuer):
            try:
                doc = json.loads(await self._get(url))
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if not isinstance(doc, dict) or doc.get("issuer") != self.issuer:
                # RFC 8414 section 3.3: metadata naming another issuer must not be used (mix-up)
                problems.append(f"{url}: the metadata names another issuer")
                continue
            jwks_uri = doc.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                problems.append(f"{url}: the metadata has no jwks_uri")
                continue
            check_url(jwks_uri, f"the jwks_uri of {self.issuer}")
            return jwks_uri
        raise ValueError("; ".join(problems))

    async def _get(self, url: str) -> bytes:
        try:
            async with self._client.stream("GET", url, timeout=FETCH_TIMEOUT) as response:
                if response.status_code != 200:
                    raise ValueError(f"{url}: HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise ValueError(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise ValueError(f"{url}: {type(exc).__name__}") from None


class FileKeys(KeySource, Polled):
    """A static JWKS file, re-read when it changes; a broken file keeps no keys (fail closed)."""

    def __init__(self, issuer: str, path: Path, *, check_interval: float = CHECK_INTERVAL) -> None:
        Polled.__init__(self, path, check_interval=check_interval)
        self.issuer = issuer
        self._cache = _Cache()
        self._signature: Signature | None = None
        self._keys: dict[str, dict[str, Any]] = self._read()  # a broken file at start stops the start

    async def key(self, kid: str | None, alg: str) -> PyJWK | None:
        self.poll()
        return self._cache.get(self._keys, kid, alg)

    def describe(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_file": str(self.path),
            "keys": len(self._keys),
            "last_error": self.last_error,
        }

    def _refresh(self) -> None:
        try:
            if signature(self.path) == self._signature:
                return
            self._keys = self._read()
            self.last_error = None
        except (OSError, ValueError) as exc:
            self._keys, self._signature = {}, None
            self.last_error = (
                str(exc) if isinstance(exc, ValueError) else f"{self.path}: cannot read the JWKS file"
            )
        self._cache.clear()

    def _read(self) -> dict[str, dict[str, Any]]:
        read = read_stable(self.path, MAX_DOCUMENT_BYTES)
        if read is None:
            raise ValueError(f"{self.path}: the JWKS file changed while it was read")
        data, self._signature = read
        return parse_jwks(data, str(self.path))
