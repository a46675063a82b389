"""Every refusal is audited, including those no handler saw: the outermost ASGI middleware.

The tool handlers and the gates audit what they refuse. Some answers are given before any of them
runs: FastAPI's `422` for a body that does not fit the schema, `413` for a body over the limit
(limits.py), `400` for a body that could not be read, a request whose client went away (or was too
slow) before any answer. This middleware sees every answer; a refusal of a request (REFUSED_STATUSES,
or no answer at all) that no handler and no gate audited is counted in the refusal aggregate
(audit/refusals.py) by source, route and code: the code the answer carries (`invalid_arguments`,
`body_too_large`, ...), never a value the caller sent. `404`/`405` (a path or method that does not
exist: MCP clients probe `GET /mcp`) refuse nothing a caller asked of a tool and are not counted.
"""

from __future__ import annotations

import contextvars
import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_mcp_server.audit.refusals import RefusalAggregator

# Set for the duration of one request; a gate that audits a refusal itself marks it (audited()).
_AUDITED: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar("k8s_mcp_audited", default=None)
_CODE = re.compile(r"[a-z][a-z_]{0,39}")
_BODY_PEEK = 4096  # an error answer's first bytes, read for its `detail.code`
ROUTES = ("/tools/kubectl", "/tools/helm", "/tools/istioctl", "/tools/argocd", "/tools/status", "/health",
          "/metrics", "/mcp", "/docs", "/openapi.json")  # fmt: skip
REFUSED_STATUSES = frozenset({400, 408, 413, 422, 431})
_FALLBACK = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
             413: "body_too_large", 422: "invalid_arguments", 431: "headers_too_large"}  # fmt: skip


def audited() -> None:
    """Mark the current request as audited (its refusal has a record or an aggregate count)."""
    mark = _AUDITED.get()
    if mark is not None:
        mark[0] = True


def route_of(path: str) -> str:
    """The route a path names, or `other`: a path the caller made up is input, never recorded."""
    for route in ROUTES:
        if path == route or path.startswith(route + "/"):
            return route
    return "other"


class RefusalAudit:
    """ASGI middleware; add it last (outermost), so it sees the answers of every other layer."""

    def __init__(self, app: ASGIApp, *, refusals: RefusalAggregator) -> None:
        self.app = app
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mark = [False]
        token = _AUDITED.set(mark)
        shared = scope.setdefault("state", {})  # the handler's request.state: its request_id lands here
        status: int | None = None
        peek = b""

        async def watched_send(message: Message) -> None:
            nonlocal status, peek
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status is not None and status >= 400:
                peek = (peek + message.get("body", b""))[:_BODY_PEEK]
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            status = status or 500
            raise
        finally:
            _AUDITED.reset(token)
            if (
                not mark[0]
                and not shared.get("request_id")
                and (status is None or status in REFUSED_STATUSES)
            ):
                client = scope.get("client")
                self.refusals.add(
                    code=_code(status, peek),
                    reason=_reason(status),
                    transport="mcp" if route_of(scope.get("path", "")) == "/mcp" else "rest",
                    source_ip=client[0] if client else None,
                    route=route_of(scope.get("path", "")),
                    status=status,
                )


def _code(status: int | None, body: bytes) -> str:
    if status is None:
        return "no_response"
    try:
        answer = json.loads(body)
        detail = answer.get("detail")  # REST
        if not isinstance(detail, dict):  # MCP: a JSON-RPC error carrying the REST detail as its data
            error = answer.get("error")
            detail = error.get("data") if isinstance(error, dict) else None
        code = detail.get("code") if isinstance(detail, dict) else None
    except (ValueError, AttributeError):
        code = None
    if isinstance(code, str) and _CODE.fullmatch(code):
        return code
    return _FALLBACK.get(status, f"http_{status}")


def _reason(status: int | None) -> str:
    if status is None:
        return "refused before the handler: no answer was sent (the client went away or was too slow)"
    return f"refused before the handler with HTTP {status}; what the caller sent is not recorded"
