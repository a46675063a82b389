"""A real MCP client session (the `mcp` package's streamable HTTP client) against a running server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent


@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    """An initialized session at `url` (the server's base URL) sending `headers` with every request."""
    async with (
        httpx.AsyncClient(headers=headers or {}, timeout=60) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call_tool(
    url: str, headers: dict[str, str], tool: str, arguments: dict[str, Any]
) -> CallToolResult:
    async with mcp_session(url, headers) as session:
        return await session.call_tool(tool, arguments)


def text_of(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))
