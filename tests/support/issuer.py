"""A real OpenID Connect issuer for the tests: metadata discovery and JWKS over HTTP on loopback, in a
thread, signing access tokens with PyJWT (the library the server verifies with).

It publishes `/.well-known/openid-configuration` (and 404s the RFC 8414 path, so the server's
fallback to OIDC discovery is exercised) and `/jwks`, counts JWKS fetches, and can rotate its key.
For OAuth clients it also runs the authorization-code flow with PKCE: dynamic client registration
(`/register`, RFC 7591), `/authorize` (no login page: it consents at once as `login`, the user the
test chose, and redirects with a code) and `/token` (checks the PKCE verifier, issues an access token
for the `resource` the client asked for, RFC 8707).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
    login: tuple[str, list[str]] = ("alice", [])  # who /authorize consents as: subject, groups
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)

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
            "registration_endpoint": f"{self.url}/register",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def register(self, request: dict[str, Any]) -> dict[str, Any]:
        client = {**request, "client_id": uuid.uuid4().hex, "token_endpoint_auth_method": "none"}
        client["client_id_issued_at"] = int(time.time())
        self.clients[client["client_id"]] = client
        return client

    def authorize(self, query: dict[str, str]) -> str:
        """The redirect URL (with code and state) for a valid request; ValueError otherwise."""
        client = self.clients.get(query.get("client_id", ""))
        if client is None or query.get("redirect_uri") not in client.get("redirect_uris", []):
            raise ValueError("unknown client or redirect_uri")
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            raise ValueError("authorization code with PKCE S256 only")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**query, "subject": self.login[0], "groups": list(self.login[1])}
        params = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return f"{query['redirect_uri']}?{urlencode(params)}"

    def exchange(self, form: dict[str, str]) -> dict[str, Any]:
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            raise ValueError("invalid_grant")
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if challenge != grant["code_challenge"] or form.get("client_id") != grant["client_id"]:
            raise ValueError("invalid_grant")
        audience = form.get("resource") or grant.get("resource") or ""
        token = self.token(
            grant["subject"], audience=audience, groups=grant["groups"], azp=grant["client_id"]
        )
        return {"access_token": token, "token_type": "Bearer", "expires_in": 300}

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
            elif self.path.startswith("/authorize?"):
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                try:
                    location = issuer.authorize(query)
                except ValueError:
                    self._json({"error": "invalid_request"}, status=400)
                    return
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                if self.path == "/register":
                    self._json(issuer.register(json.loads(body)), status=201)
                elif self.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    self._json(issuer.exchange(form))
                else:
                    self.send_error(404)
            except ValueError as exc:
                self._json({"error": str(exc)}, status=400)

        def _json(self, doc: dict[str, Any], status: int = 200) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
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
