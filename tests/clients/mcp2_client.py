"""A plan of MCP steps run by the `mcp` 2.x client (its own venv; see tests/support/clients.py).

Usage: python mcp2_client.py PLAN.json -- prints one JSON line per step. The same plan format is
run by ts_client.mjs (the TypeScript SDK), so one test drives every client alike.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


async def wait_for(path: str) -> None:
    while not Path(path).exists():
        await anyio.sleep(0.02)


async def call(session: ClientSession, step: dict[str, Any]) -> dict[str, Any]:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    callback = on_progress if step.get("progress") else None
    try:
        result = await session.call_tool(step["tool"], step.get("arguments", {}), progress_callback=callback)
    except MCPError as exc:
        return {"op": "error", "code": exc.error.code, "message": exc.error.message}
    text = "".join(c.text for c in result.content if isinstance(c, types.TextContent))
    return {
        "op": "call",
        "isError": result.is_error,
        "text": text,
        "structured": result.structured_content,
        "progress": len(progress),
    }


async def run(plan: dict[str, Any]) -> None:
    async with (
        httpx2.AsyncClient(headers=plan.get("headers", {}), timeout=httpx2.Timeout(30, read=600)) as http,
        streamable_http_client(plan["url"], http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        for step in plan["steps"]:
            op = step["op"]
            if op == "list":
                tools = (await session.list_tools()).tools
                emit({"op": "list", "tools": [t.model_dump(mode="json", by_alias=True) for t in tools]})
            elif op == "call" and "abort_when" in step:  # the caller gives up mid-call
                async with anyio.create_task_group() as tg:
                    tg.start_soon(call, session, step)
                    await wait_for(step["abort_when"])
                    tg.cancel_scope.cancel()
                emit({"op": "aborted"})
            elif op == "call":
                emit(await call(session, step))
            elif op == "touch":
                Path(step["path"]).touch()
            elif op == "wait_file":
                await wait_for(step["path"])


def messages(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(messages(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    try:
        anyio.run(run, json.loads(Path(sys.argv[1]).read_text()))
    except BaseException as exc:  # what the client shows its user, for the test to read
        emit({"op": "crash", "message": messages(exc)})
        sys.exit(1)
