"""The MCP mount: fastapi-mcp's streamable HTTP transport at /mcp, one tool per REST endpoint.

Tool calls reach the REST routes in-process, so every MCP call takes exactly the REST path. A small
ASGI middleware in front of /mcp authenticates the MCP request itself and stamps it with a
per-process token plus the real client address; the routes trust that stamp only with the token.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from typing import Any

import anyio
import httpx
from fastapi import FastAPI
from fastapi_mcp import FastApiMCP
from starlette.types import ASGIApp, Receive, Scope, Send

from k8s_mcp_server.api.routes import MCP_ORIGIN_HEADER
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.contracts import TOOLS, CommandRequest, Transport
from k8s_mcp_server.errors import ProxyError
from k8s_mcp_server.keys import ANONYMOUS

MOUNT_PATH = "/mcp"
# Headers of the MCP request that reach each tool call.
FORWARDED_HEADERS = ["authorization", "x-kubeconfig", MCP_ORIGIN_HEADER]
# The in-process client must outlive the longest command plus the executor's kill grace period.
CLIENT_TIMEOUT_SLACK = 30.0
# mcp's server checks every tool call's arguments with jsonschema.validate(), which first checks the
# schema against its metaschema: ~2.3 ms per call for the default (2020-12), ~0.6 ms for draft-07.
# The tool schemas use nothing newer than draft-07 (and the REST route validates the body again).
INPUT_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"


class _ExpectedErrorFilter(logging.Filter):
    """Drops the library tracebacks that are not errors of this server:
    - fastapi-mcp logs one for every tool error (each policy denial, each invalid command), answers
      the caller already gets as tool errors and that are audited;
    - mcp logs one when a client closes its session (the standalone SSE stream's reader is closed).
    Every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Error calling "):
            return False
        closed = record.exc_info is not None and isinstance(record.exc_info[1], anyio.ClosedResourceError)
        return not (message == "Error in standalone SSE writer" and closed)


def _quiet_expected_errors() -> None:
    for name in ("fastapi_mcp.server", "mcp.server.streamable_http"):
        library_log = logging.getLogger(name)
        if not any(isinstance(f, _ExpectedErrorFilter) for f in library_log.filters):
            library_log.addFilter(_ExpectedErrorFilter())


def mount_mcp(app: FastAPI, state: AppState, *, max_command_timeout: float, description: str) -> FastApiMCP:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://k8s-mcp-server.internal",
        timeout=max_command_timeout + CLIENT_TIMEOUT_SLACK,
    )
    mcp = FastApiMCP(
        app,
        name="k8s-mcp-server",
        description=description,
        include_operations=list(TOOLS),
        headers=FORWARDED_HEADERS,
        http_client=client,
    )
    for tool in mcp.tools:
        tool.inputSchema.setdefault("$schema", INPUT_SCHEMA_DIALECT)
    _quiet_expected_errors()
    mcp.mount_http(app, mount_path=MOUNT_PATH)
    return mcp


class McpGate:
    """ASGI middleware in front of every HTTP request.

    All paths: the Host and Origin allow-lists (DNS rebinding), except the MCP mount's own in-process
    tool calls (proved by the per-process token). /mcp: authenticate, then stamp the request with the
    token and the real client address. Every refusal is audited once, without the key.
    """

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        is_mcp = path == MOUNT_PATH or path.startswith(MOUNT_PATH + "/")
        name = MCP_ORIGIN_HEADER.encode()
        if not is_mcp and self._forwarded(_header(scope, name)):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        source_ip = client[0] if client else None
        transport: Transport = "mcp" if is_mcp else "rest"
        try:
            self.state.guard.check(_header(scope, b"host"), _header(scope, b"origin"))
            if is_mcp:
                self.state.authenticator.principal(_header(scope, b"authorization"), source_ip)
        except ProxyError as exc:
            await self._refuse(send, exc, transport, source_ip)
            return
        if not is_mcp:
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != name]  # never trust a caller's stamp
        headers.append((name, f"{self.state.mcp_token};{source_ip or ''}".encode()))
        await self.app({**scope, "headers": headers}, receive, send)

    def _forwarded(self, stamp: str | None) -> bool:
        token = (stamp or "").partition(";")[0]
        return bool(token) and hmac.compare_digest(token, self.state.mcp_token)

    async def _refuse(self, send: Send, exc: ProxyError, transport: Transport, source_ip: str | None) -> None:
        request = CommandRequest(
            request_id=str(uuid.uuid4()),
            tool="",
            command="",
            principal=ANONYMOUS,
            transport=transport,
            source_ip=source_ip,
        )
        try:
            await self.state.audit_rejection(request, exc)
        except ProxyError as failed:
            exc = failed
        await _reject(send, exc, request.request_id)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v for k, v in scope["headers"] if k.lower() == name]
    if len(values) != 1:
        return None if not values else "\x00duplicate"  # two Host/Origin/Authorization headers: refuse
    value: bytes = values[0]
    return value.decode("latin-1")


async def _reject(send: Send, exc: ProxyError, request_id: str) -> None:
    body: dict[str, Any] = {"detail": {"code": exc.code, "message": exc.message, "request_id": request_id}}
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if exc.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
