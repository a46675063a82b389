"""Access-token validation: a JWT from a trusted issuer, for this server, signed with a key the issuer
publishes, with an algorithm on the allow-list, valid now.

Order of checks: shape and size, header algorithm (allow-list: never `none`, never HMAC), issuer
(exact match among the configured ones; the key is looked up only at that issuer), key by `kid`,
then PyJWT verifies the signature with the key bound to that one algorithm and checks `exp`, `nbf`,
`iat` (with `leeway`), `iss` and `aud`; then the required scopes and the principal claim. Every
refusal is `Unauthenticated` whose message says which check failed and never quotes the token or a
claim value (the message goes to the caller and into the audit record).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import exceptions as jwt_errors

from k8s_mcp_server.errors import Unauthenticated
from k8s_mcp_server.identity.jwks import KeySource

MAX_TOKEN_BYTES = 16 * 1024  # far above a real access token; bounds the decoding work per request
MAX_GROUPS = 256
MAX_ACT_DEPTH = 8
# A principal or group name reaches audit records, rate-limit buckets and (impersonating) the API
# server's Impersonate-User header: printable, no spaces or controls, bounded.
_NAME = re.compile(r"^[!-~]{1,256}$")
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_REQUIRED = ["exp", "iat", "iss", "aud"]


class InvalidToken(Unauthenticated):
    """A bearer token that is not a valid access token for this server (401, reason in the audit)."""


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts: a token for the OAuth path (API keys, `kms_...`, never look like this)."""
    return len(token) <= MAX_TOKEN_BYTES and bool(_JWT_SHAPE.match(token))


@dataclass(frozen=True, kw_only=True)
class VerifiedToken:
    issuer: str
    subject: str | None
    principal: str
    groups: tuple[str, ...]
    client: str | None
    act: tuple[str, ...]
    scopes: tuple[str, ...]


class TokenVerifier:
    def __init__(
        self,
        *,
        sources: Sequence[KeySource],
        audience: str,
        algorithms: Sequence[str],
        leeway: float,
        required_scopes: Sequence[str] = (),
        principal_claim: str = "sub",
        groups_claim: str = "groups",
    ) -> None:
        self._sources = {source.issuer: source for source in sources}
        self.audience = audience
        self.algorithms = frozenset(algorithms)
        self.leeway = leeway
        self.required_scopes = tuple(required_scopes)
        self.principal_claim = principal_claim
        self.groups_claim = groups_claim

    @property
    def issuers(self) -> tuple[str, ...]:
        return tuple(self._sources)

    def sources(self) -> tuple[KeySource, ...]:
        return tuple(self._sources.values())

    async def verify(self, token: str) -> VerifiedToken:
        if not looks_like_jwt(token):
            raise InvalidToken("the bearer token is not a JWT access token")
        header, unverified = _peek(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidToken("the access token's signature algorithm is not on this server's allow-list")
        issuer = unverified.get("iss")
        source = self._sources.get(issuer) if isinstance(issuer, str) else None
        if source is None:
            raise InvalidToken("the access token was issued by an issuer this server does not trust")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the access token's header is malformed")
        key = await source.key(kid, alg)
        if key is None:
            raise InvalidToken(
                "the access token is signed with a key its issuer does not publish (unknown kid)"
            )
        claims = self._decode(token, key, alg, source.issuer)
        return self._identity(claims, source.issuer)

    def _decode(self, token: str, key: jwt.PyJWK, alg: str, issuer: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=issuer,
                leeway=self.leeway,
                options={"require": _REQUIRED},
            )
        except jwt_errors.ExpiredSignatureError:
            raise InvalidToken("the access token has expired") from None
        except jwt_errors.ImmatureSignatureError:
            raise InvalidToken("the access token is not valid yet (nbf or iat in the future)") from None
        except jwt_errors.InvalidAudienceError:
            raise InvalidToken("the access token is for another audience, not this server") from None
        except jwt_errors.InvalidIssuerError:
            raise InvalidToken(
                "the access token was issued by an issuer this server does not trust"
            ) from None
        except jwt_errors.InvalidSignatureError:
            raise InvalidToken("the access token's signature does not verify") from None
        except jwt_errors.MissingRequiredClaimError as exc:
            raise InvalidToken(f"the access token has no `{exc.claim}` claim") from None
        except jwt_errors.InvalidAlgorithmError:
            raise InvalidToken("the access token's signature algorithm does not match its key") from None
        except jwt_errors.PyJWTError:
            raise InvalidToken("the access token is not valid") from None
        return claims

    def _identity(self, claims: Mapping[str, Any], issuer: str) -> VerifiedToken:
        scopes = _scopes(claims)
        missing = [scope for scope in self.required_scopes if scope not in scopes]
        if missing:
            raise InvalidToken(f"the access token lacks the required scope(s): {' '.join(missing)}")
        principal = claims.get(self.principal_claim)
        if not isinstance(principal, str) or not _NAME.match(principal):
            raise InvalidToken(
                f"the access token's `{self.principal_claim}` claim is missing or not a usable name "
                "(printable, no spaces, at most 256 characters)"
            )
        subject = claims.get("sub")
        client = claims.get("azp", claims.get("client_id"))
        return VerifiedToken(
            issuer=issuer,
            subject=subject if isinstance(subject, str) else None,
            principal=principal,
            groups=self._groups(claims),
            client=client if isinstance(client, str) and _NAME.match(client) else None,
            act=_act_chain(claims.get("act")),
            scopes=scopes,
        )

    def _groups(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        raw = claims.get(self.groups_claim, [])
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or len(values) > MAX_GROUPS:
            raise InvalidToken(f"the access token's `{self.groups_claim}` claim is not a list of names")
        groups: list[str] = []
        for value in values:
            if not isinstance(value, str) or not _NAME.match(value):
                raise InvalidToken(
                    f"the access token's `{self.groups_claim}` claim holds a value that is not a name"
                )
            if value not in groups:
                groups.append(value)
        return tuple(groups)


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The unverified header and claims, only to choose the issuer and key: PyJWT parses (and checks)
    the token once more when it verifies it. Its own unverified parse costs ~70 us a segment here
    (a per-character check in Python); the shape regex has already checked the alphabet."""
    head, body, _ = token.split(".")
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("the access token is malformed") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("the access token is malformed")
    return header, claims


def _scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return tuple(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return tuple(item for item in scp if isinstance(item, str))
    return ()


def _act_chain(act: Any) -> tuple[str, ...]:
    """RFC 8693 section 4.1: `act` names the current actor, its own `act` the one before it."""
    chain: list[str] = []
    while isinstance(act, dict) and len(chain) < MAX_ACT_DEPTH:
        sub = act.get("sub")
        chain.append(sub if isinstance(sub, str) and _NAME.match(sub) else "?")
        act = act.get("act")
    return tuple(chain)
