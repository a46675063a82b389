"""Access tokens against a real issuer (metadata discovery + JWKS over HTTP): what is accepted, and
each forgery or misuse refused with its reason, never with the token in the message."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from k8s_mcp_server.identity.jwks import DiscoveredKeys, FileKeys, IssuerUnavailable
from k8s_mcp_server.identity.tokens import InvalidToken, TokenVerifier, looks_like_jwt
from tests.support.issuer import Issuer, SigningKey, running_issuer

AUDIENCE = "http://127.0.0.1:9096/mcp"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, object], claims: dict[str, object], signature: bytes = b"") -> str:
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


def hs256_with_public_key(issuer: Issuer, audience: str = AUDIENCE) -> str:
    """The key-confusion forgery: HMAC keyed with the issuer's public key, which anyone can fetch."""
    public_pem = issuer.key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.key.kid}
    claims = issuer.claims("mallory", audience=audience)
    signing_input = unsigned(header, claims).rsplit(".", 1)[0]
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def tampered(token: str) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "admin"
    return f"{head}.{b64url(json.dumps(claims).encode())}.{sig}"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def other_issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


def verifier(issuer: Issuer, client: httpx.AsyncClient, **overrides: object) -> TokenVerifier:
    options: dict[str, object] = {
        "audience": AUDIENCE,
        "algorithms": ("RS256", "ES256"),
        "leeway": 5.0,
    }
    options.update(overrides)
    keys = DiscoveredKeys(issuer.url, client, min_refetch=float(str(options.pop("min_refetch", 0.0))))
    return TokenVerifier(sources=[keys], **options)  # type: ignore[arg-type]


async def test_a_valid_token_gives_the_principal_groups_client_and_delegation_chain(issuer: Issuer) -> None:
    token = issuer.token(
        "alice",
        audience=AUDIENCE,
        groups=["dev", "readers"],
        azp="inspector",
        act={"sub": "agent-1", "act": {"sub": "gateway"}},
    )
    async with httpx.AsyncClient() as client:
        verified = await verifier(issuer, client).verify(token)
    assert verified.principal == "alice" and verified.subject == "alice"
    assert verified.issuer == issuer.url
    assert verified.groups == ("dev", "readers")
    assert verified.client == "inspector"
    assert verified.act == ("agent-1", "gateway")


async def test_the_principal_and_groups_come_from_the_configured_claims(issuer: Issuer) -> None:
    token = issuer.token("u-123", audience=AUDIENCE, email="bob@example.com", roles="ops", client_id="cli")
    async with httpx.AsyncClient() as client:
        check = verifier(issuer, client, principal_claim="email", groups_claim="roles")
        verified = await check.verify(token)
    assert (verified.principal, verified.groups, verified.client) == ("bob@example.com", ("ops",), "cli")


@functools.cache
def _stranger() -> SigningKey:
    return SigningKey.new()


def _cases(issuer: Issuer, other: Issuer) -> dict[str, tuple[str, str]]:
    now = int(time.time())
    stranger = _stranger()
    return {
        "expired": (issuer.token("a", audience=AUDIENCE, lifetime=-120), "expired"),
        "nbf in the future": (issuer.token("a", audience=AUDIENCE, nbf=now + 600), "not valid yet"),
        "iat in the future": (
            issuer.sign({**issuer.claims("a", audience=AUDIENCE), "iat": now + 600}),
            "not valid yet",
        ),
        "another audience": (issuer.token("a", audience="https://other.example/mcp"), "another audience"),
        "another issuer": (other.token("a", audience=AUDIENCE), "does not trust"),
        "unknown kid": (issuer.token("a", audience=AUDIENCE, key=stranger), "unknown kid"),
        "trusted iss, other issuer's key": (
            issuer.sign(issuer.claims("a", audience=AUDIENCE), key=other.key),
            "unknown kid",
        ),
        "alg none": (
            unsigned({"alg": "none", "typ": "JWT"}, issuer.claims("a", audience=AUDIENCE)),
            "allow-list",
        ),
        "HS256 signed with the public key": (hs256_with_public_key(issuer), "allow-list"),
        "tampered payload": (tampered(issuer.token("a", audience=AUDIENCE)), "does not verify"),
        "no exp": (
            issuer.sign({k: v for k, v in issuer.claims("a", audience=AUDIENCE).items() if k != "exp"}),
            "no `exp` claim",
        ),
        "not a JWT": ("kms_not-a-token", "not a JWT"),
        "garbage parts": ("eyJ.eyJ.x", "malformed"),
    }


CASES = [
    "expired",
    "nbf in the future",
    "iat in the future",
    "another audience",
    "another issuer",
    "unknown kid",
    "trusted iss, other issuer's key",
    "alg none",
    "HS256 signed with the public key",
    "tampered payload",
    "no exp",
    "not a JWT",
    "garbage parts",
]


@pytest.mark.parametrize("case", CASES)
async def test_a_bad_token_is_refused_with_its_reason_and_without_the_token(
    issuer: Issuer, other_issuer: Issuer, case: str
) -> None:
    token, reason = _cases(issuer, other_issuer)[case]
    async with httpx.AsyncClient() as client:
        with pytest.raises(InvalidToken) as info:
            await verifier(issuer, client).verify(token)
    assert reason in info.value.message
    assert info.value.code == "unauthenticated" and info.value.status == 401
    for part in token.split("."):
        if len(part) > 3:
            assert part not in info.value.message


async def test_an_algorithm_off_the_allow_list_is_refused_even_when_the_key_could_verify_it(
    issuer: Issuer,
) -> None:
    token = issuer.token("a", audience=AUDIENCE)
    async with httpx.AsyncClient() as client:
        with pytest.raises(InvalidToken, match="allow-list"):
            await verifier(issuer, client, algorithms=("ES256",)).verify(token)


async def test_a_required_scope_missing_from_the_token_is_refused(issuer: Issuer) -> None:
    async with httpx.AsyncClient() as client:
        check = verifier(issuer, client, required_scopes=("k8s:run",))
        with pytest.raises(InvalidToken, match="k8s:run"):
            await check.verify(issuer.token("a", audience=AUDIENCE, scope="openid profile"))
        verified = await check.verify(issuer.token("a", audience=AUDIENCE, scope="openid k8s:run"))
    assert "k8s:run" in verified.scopes


async def test_a_rotated_signing_key_is_fetched_when_a_token_names_its_kid() -> None:
    with running_issuer() as issuer:
        async with httpx.AsyncClient() as client:
            check = verifier(issuer, client)
            await check.verify(issuer.token("a", audience=AUDIENCE))
            fetched = issuer.jwks_fetches
            issuer.rotate()
            verified = await check.verify(issuer.token("b", audience=AUDIENCE))
        assert verified.principal == "b"
        assert issuer.jwks_fetches == fetched + 1


async def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval() -> None:
    with running_issuer() as issuer:
        async with httpx.AsyncClient() as client:
            check = verifier(issuer, client, min_refetch=3600.0)
            await check.verify(issuer.token("a", audience=AUDIENCE))
            for _ in range(20):
                with pytest.raises(InvalidToken, match="unknown kid"):
                    await check.verify(issuer.token("a", audience=AUDIENCE, key=SigningKey.new()))
            # the first unknown kid may refetch (the issuer may have rotated); the next 19 may not
            assert issuer.jwks_fetches <= 2


async def test_an_unreachable_issuer_is_a_503_not_a_401_nor_a_500() -> None:
    with running_issuer() as issuer:
        token = issuer.token("a", audience=AUDIENCE)
        url = issuer.url
    async with httpx.AsyncClient() as client:
        keys = DiscoveredKeys(url, client, min_refetch=0.0)
        check = TokenVerifier(sources=[keys], audience=AUDIENCE, algorithms=("RS256",), leeway=5.0)
        with pytest.raises(IssuerUnavailable) as info:
            await check.verify(token)
    assert info.value.status == 503 and token not in info.value.message


def test_only_jwt_shaped_bearer_tokens_take_the_oauth_path() -> None:
    assert looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln")
    assert not looks_like_jwt("kms_" + "A" * 43)
    assert not looks_like_jwt("a.b")
    assert not looks_like_jwt("a.b.c.d")


async def test_a_static_jwks_file_is_re_read_when_the_key_in_it_is_rotated(tmp_path: Path) -> None:
    issuer = Issuer(url="https://idp.example.com", keys=[SigningKey.new()])
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(issuer.jwks()))
    keys = FileKeys(issuer.url, path, check_interval=0)
    check = TokenVerifier(sources=[keys], audience=AUDIENCE, algorithms=("RS256",), leeway=5.0)
    assert (await check.verify(issuer.token("a", audience=AUDIENCE))).principal == "a"
    issuer.rotate()
    replacement = tmp_path / "jwks.json.new"
    replacement.write_text(json.dumps(issuer.jwks()))
    replacement.replace(path)
    assert (await check.verify(issuer.token("b", audience=AUDIENCE))).principal == "b"
