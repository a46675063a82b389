"""FastAPI app factory, REST routes, the MCP mount and the auth dependency."""

from k8s_mcp_server.api.app import create_app

__all__ = ["create_app"]
