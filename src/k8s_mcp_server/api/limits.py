"""The request body bound, for every path (REST like MCP): refused by its Content-Length before any of
it is read, and, without one (chunked), when the bytes read pass the bound."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_TOO_LARGE = "body_too_large"


class BodyLimit:
    """ASGI middleware: `413 body_too_large` (and the connection closed) past `max_bytes`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        refused = started = False

        async def counted_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}  # the app stops reading; its answer is dropped
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if not refused:
                started = True
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise  # an app that fails on the disconnect it was given has been answered already

    async def _refuse(self, send: Send) -> None:
        message = (
            f"request bodies are limited to {self.max_bytes} bytes (K8S_MCP_MAX_BODY_BYTES); a kubeconfig "
            "is at most 256 KiB and a command 64 KiB"
        )
        body = json.dumps({"detail": {"code": BODY_TOO_LARGE, "message": message}}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the rest of the body is not read: the connection ends here
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    """The declared length; an unreadable one counts as too large (h11 refuses it before, anyway)."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 1 << 62
    return None
