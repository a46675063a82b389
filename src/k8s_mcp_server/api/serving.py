"""Serving the app: uvicorn with the connection bounds, the server's own file-descriptor limit, and
a rate-limited log."""

from __future__ import annotations

import logging
import resource

from fastapi import FastAPI

from k8s_mcp_server import logs
from k8s_mcp_server.api.connections import ConnectionGuard, OnRefusal, uvicorn_options
from k8s_mcp_server.settings import Settings

log = logging.getLogger(__name__)

# File descriptors a running command costs the server: its stages' pipes, pidfds and readers.
FDS_PER_COMMAND = 16
# The server's own: the listening socket, the audit log, policy and key files, the loop's selector.
FDS_RESERVED = 256


def open_files_needed(settings: Settings) -> int:
    return settings.max_connections + FDS_PER_COMMAND * settings.max_concurrency + FDS_RESERVED


def connection_budget(settings: Settings) -> tuple[int, str | None]:
    """Raise the soft RLIMIT_NOFILE towards what the settings need (up to the hard limit) and return
    how many connections fit: MAX_CONNECTIONS, or fewer when the hard limit is lower (then with a
    warning), so that the connection cap refuses before accept() fails with EMFILE."""
    needed = open_files_needed(settings)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if hard == resource.RLIM_INFINITY or hard >= needed:
        return settings.max_connections, None
    fits = max(16, hard - FDS_PER_COMMAND * settings.max_concurrency - FDS_RESERVED)
    return fits, (
        f"the open-file limit is {hard}, below the {needed} these settings need: serving at most {fits} "
        "connections; raise the limit (ulimit -Hn, LimitNOFILE=) or lower K8S_MCP_MAX_CONNECTIONS"
    )


def refusal_counter(app: FastAPI) -> OnRefusal | None:
    """Counts the connection layer's refusals in the app's refusal aggregate, if it has one."""
    refusals = getattr(getattr(app.state, "k8s", None), "refusals", None)
    if refusals is None:
        return None

    def count(code: str, message: str, source: str, status: int) -> None:
        refusals.add(
            code=code, reason=message, transport="http", source_ip=source, route="connection", status=status
        )

    return count


def serve(app: FastAPI, settings: Settings, *, log_level: str) -> None:
    import uvicorn

    total, warning = connection_budget(settings)
    guard = ConnectionGuard(
        on_refusal=refusal_counter(app),
        total=total,
        per_source=settings.max_connections_per_source,
        read_timeout=settings.request_read_timeout,
        max_header_bytes=settings.max_header_bytes,
    )
    # The asyncio loop even where uvloop is installed: with uvloop (and httptools) a REST `get ns`
    # measured 1.21-1.23x of kubectl run directly, against 1.11-1.17x with asyncio (bench_request.py).
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        loop="asyncio",
        **uvicorn_options(guard, keep_alive=settings.keep_alive_timeout),
    )
    logs.install()  # after uvicorn.Config, which configures logging
    if warning:
        log.warning(warning)
    uvicorn.Server(config).run()
