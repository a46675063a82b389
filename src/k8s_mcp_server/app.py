"""`k8s_mcp_server.app:app`: the ASGI app, built from the environment on first use, not at import."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from k8s_mcp_server.allocator import tune_allocator
from k8s_mcp_server.api import create_app
from k8s_mcp_server.settings import Settings

__all__ = ["LazyApp", "app", "create_app"]


class LazyApp:
    """Builds the real app (reading `K8S_MCP_*` settings) when the server first calls it."""

    def __init__(self) -> None:
        self._app: FastAPI | None = None

    def get(self) -> FastAPI:
        if self._app is None:
            tune_allocator()
            self._app = create_app(Settings())
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.get()(scope, receive, send)


app = LazyApp()
