"""The MCP mount: fastapi-mcp's streamable HTTP transport at /mcp, one tool per REST endpoint.

Tool calls reach the REST routes in-process, so every MCP call takes exactly the REST path. A small
ASGI middleware in front of /mcp authenticates the MCP request itself and stamps it with a
per-process token plus the real client address; the routes trust that stamp only with the token.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi_mcp import FastApiMCP
from starlette.types import ASGIApp, Receive, Scope, Send

from k8s_mcp_server.api.routes import MCP_ORIGIN_HEADER
from k8s_mcp_server.api.state import AppState
from k8s_mcp_server.contracts import TOOLS
from k8s_mcp_server.errors import ProxyError

MOUNT_PATH = "/mcp"
# Headers of the MCP request that reach each tool call.
FORWARDED_HEADERS = ["authorization", "x-kubeconfig", MCP_ORIGIN_HEADER]
# The in-process client must outlive the longest command plus the executor's kill grace period.
CLIENT_TIMEOUT_SLACK = 30.0


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
    mcp.mount_http(app, mount_path=MOUNT_PATH)
    return mcp


class McpGate:
    """ASGI middleware for /mcp: authenticate, then stamp the request with origin and client address."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == MOUNT_PATH or path.startswith(MOUNT_PATH + "/")):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        source_ip = client[0] if client else None
        name = MCP_ORIGIN_HEADER.encode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != name]  # never trust a caller's stamp
        authorization = next((v.decode("latin-1") for k, v in headers if k.lower() == b"authorization"), None)
        try:
            self.state.authenticator.principal(authorization, source_ip)
        except ProxyError as exc:
            await _reject(send, exc)
            return
        headers.append((name, f"{self.state.mcp_token};{source_ip or ''}".encode()))
        await self.app({**scope, "headers": headers}, receive, send)


async def _reject(send: Send, exc: ProxyError) -> None:
    body: dict[str, Any] = {"detail": {"code": exc.code, "message": exc.message}}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
