"""Refusals no handler saw (422, 413, unknown paths) and floods of unauthenticated ones are audited,
in aggregate, never with what the caller sent (the app in-process, a real audit file)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from k8s_mcp_server.api.app import create_app
from k8s_mcp_server.audit import verify
from k8s_mcp_server.audit.refusals import PER_KEY
from k8s_mcp_server.settings import Settings
from tests.support.cluster import REPO

CANARY = "Zq9CANARYx7"


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    settings = Settings(
        policy=REPO / "policies" / "default.yaml", audit_log=tmp_path / "audit.jsonl", audit_fsync=False
    )
    return create_app(settings)


def client(app: FastAPI, source: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(source, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9096")


def records(app: FastAPI) -> list[dict[str, Any]]:
    state = app.state.k8s
    state.refusals.flush()
    path: Path = state.pipeline.audit.path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as c:
        yield c


async def test_a_body_the_schema_refuses_is_counted_as_invalid_arguments_without_its_values(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    res = await http.post("/tools/kubectl", json={"command": 7, "kubeconfig": [CANARY], CANARY: CANARY})
    assert res.status_code == 422
    [record] = records(app)
    assert (record["event"], record["error_code"], record["status"], record["route"], record["count"]) == (
        "refusals", "invalid_arguments", 422, "/tools/kubectl", 1,
    )  # fmt: skip
    assert CANARY not in json.dumps(record)


async def test_a_body_over_the_limit_is_counted_as_body_too_large(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    res = await http.post(
        "/tools/kubectl", content=b"x" * (2 * 1024 * 1024), headers={"content-type": "text/plain"}
    )
    assert res.status_code == 413
    [record] = records(app)
    assert (record["error_code"], record["status"]) == ("body_too_large", 413)


async def test_a_body_sent_to_a_made_up_path_is_counted_under_other_and_the_path_is_not_recorded(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    res = await http.post(f"/tools/{CANARY}", content=b"x" * (2 * 1024 * 1024))
    assert res.status_code == 413  # the body bound holds for every path
    [record] = records(app)
    assert (record["error_code"], record["route"]) == ("body_too_large", "other")
    assert CANARY not in json.dumps(record)


async def test_paths_and_methods_that_do_not_exist_are_not_counted(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    assert (await http.get(f"/tools/{CANARY}/x")).status_code == 404
    assert (await http.get("/tools/kubectl")).status_code == 405
    assert records(app) == []


async def test_a_refusal_the_handler_audited_itself_is_not_counted_again(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    res = await http.post("/tools/kubectl", json={"command": "get pods; rm -rf /"})
    assert res.status_code == 400
    [record] = records(app)
    assert (record["event"], record["error_code"]) == ("decision", "invalid_command")


async def test_a_flood_of_unauthenticated_requests_leaves_a_few_records_and_one_count(app: FastAPI) -> None:
    async with client(app, source="10.9.8.7") as remote:  # no API keys: only loopback is served
        for _ in range(300):
            res = await remote.post("/tools/kubectl", json={"command": "get pods"})
            assert res.status_code == 401
    found = records(app)
    individual = [r for r in found if r["event"] == "decision"]
    aggregate = [r for r in found if r["event"] == "refusals"]
    assert len(individual) == PER_KEY and all(r["error_code"] == "unauthenticated" for r in individual)
    assert [(r["source_ip"], r["error_code"], r["count"]) for r in aggregate] == [
        ("10.9.8.7", "unauthenticated", 300 - PER_KEY)
    ]
    assert verify([app.state.k8s.pipeline.audit.path]).ok


async def test_a_request_the_client_abandons_before_any_answer_is_counted_as_no_response(
    app: FastAPI,
) -> None:
    messages = iter(
        [{"type": "http.request", "body": b'{"comm', "more_body": True}, {"type": "http.disconnect"}]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        raise OSError("the client is gone")  # as a closed transport does

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/tools/kubectl", "raw_path": b"/tools/kubectl", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:9096"), (b"content-type", b"application/json")],
        "client": ("10.3.3.3", 5000), "server": ("127.0.0.1", 9096),
    }  # fmt: skip
    with contextlib.suppress(OSError):  # what the framework does with a vanished client is not the point
        await app(scope, receive, send)
    [record] = records(app)  # the app's 400 for the cut-off body never reached anyone; it is counted
    assert (record["event"], record["status"], record["source_ip"], record["route"]) == (
        "refusals", 400, "10.3.3.3", "/tools/kubectl",
    )  # fmt: skip


async def test_an_mcp_request_that_is_not_json_rpc_is_counted_under_mcp(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    res = await http.post(
        "/mcp",
        content=b"{not json " + CANARY.encode(),
        headers={"content-type": "application/json", "accept": "application/json, text/event-stream"},
    )
    assert res.status_code == 400
    [record] = records(app)
    assert (record["transport"], record["route"], record["error_code"]) == ("mcp", "/mcp", "bad_request")
    assert CANARY not in json.dumps(record)
