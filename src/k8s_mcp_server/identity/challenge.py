"""RFC 9728 on the wire: the protected-resource metadata document, and a `WWW-Authenticate` challenge
naming it on every 401 the server sends (REST and MCP alike), so an OAuth client can find the
authorization server from the first refusal.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_mcp_server.identity.oauth import METADATA_PATH, OAuth, metadata_path


class OAuthChallenge:
    """ASGI middleware: serves the metadata (GET) and rewrites the challenge of every 401."""

    def __init__(self, app: ASGIApp, oauth: OAuth) -> None:
        self.app = app
        self.oauth = oauth
        self._paths = {METADATA_PATH, metadata_path(oauth.resource)}
        self._document = json.dumps(oauth.metadata()).encode()
        self._challenge = f'Bearer resource_metadata="{oauth.metadata_url}"'.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in self._paths and scope.get("method") in ("GET", "HEAD"):
            await self._metadata(send)
            return
        presented = any(name == b"authorization" for name, _ in scope.get("headers", []))
        challenge = self._challenge + (b', error="invalid_token"' if presented else b"")

        async def challenged(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 401:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"www-authenticate"]
                message = {**message, "headers": [*headers, (b"www-authenticate", challenge)]}
            await send(message)

        await self.app(scope, receive, challenged)

    async def _metadata(self, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._document)).encode()),
            (b"cache-control", b"max-age=300"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self._document})
