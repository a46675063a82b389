"""A real OpenID Connect issuer for the tests: metadata discovery and JWKS over HTTP on loopback, in a
thread, signing access tokens with PyJWT (the library the server verifies with).

It publishes `/.well-known/openid-configuration` (and 404s the RFC 8414 path, so the server's
fallback to OIDC discovery is exercised) and `/jwks`, counts JWKS fetches, and can rotate its key.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def new(cls) -> SigningKey:
        return cls(
            kid=uuid.uuid4().hex[:12], private=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass
class Issuer:
    url: str = ""
    keys: list[SigningKey] = field(default_factory=list)  # published; keys[-1] signs
    jwks_fetches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self, *, keep_old: bool = False) -> SigningKey:
        """A new signing key (new kid); the old one stays published only with keep_old."""
        new = SigningKey.new()
        with self.lock:
            self.keys = [*self.keys, new] if keep_old else [new]
        return new

    def claims(self, subject: str, *, audience: str, lifetime: float = 300, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "exp": now + int(lifetime),
            **extra,
        }

    def token(
        self,
        subject: str,
        *,
        audience: str,
        key: SigningKey | None = None,
        headers: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> str:
        signer = key or self.key
        return jwt.encode(
            self.claims(subject, audience=audience, **extra),
            signer.private,
            algorithm="RS256",
            headers={"kid": signer.kid, **(headers or {})},
        )

    def sign(self, claims: Mapping[str, Any], *, key: SigningKey | None = None) -> str:
        signer = key or self.key
        return jwt.encode(dict(claims), signer.private, algorithm="RS256", headers={"kid": signer.kid})

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks",
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwks(self) -> dict[str, Any]:
        with self.lock:
            self.jwks_fetches += 1
            return {"keys": [k.public_jwk() for k in self.keys]}


def _handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                self._json(issuer.metadata())
            elif self.path == "/jwks":
                self._json(issuer.jwks())
            else:
                self.send_error(404)

        def _json(self, doc: dict[str, Any]) -> None:
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    """An issuer serving on a free loopback port until the block ends."""
    issuer = Issuer(keys=[SigningKey.new()])
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(issuer))
    issuer.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
