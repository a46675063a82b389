"""No 4xx body, over REST or MCP, carries a value the caller sent (a canary in each field shape)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.mcp import call_tool, text_of
from tests.support.server import Server

pytestmark = pytest.mark.cluster

CANARY = "CANARY-0c1d"
BODIES: list[Any] = [
    {"command": "get ns", "kubeconfig_b64": CANARY},  # an unknown argument (its value)
    {"command": "get ns", CANARY: "x"},  # an unknown argument (its name)
    {"command": {"x": CANARY}},  # a wrong type
    {"command": "get ns", "timeout": CANARY},
    {"command": "get ns", "namespace": CANARY},  # fails the pattern
    {"command": "get ns " + CANARY * 8000},  # over-long
    [CANARY],  # not an object
]


@pytest.mark.parametrize("body", BODIES)
def test_a_rest_body_that_does_not_fit_is_422_without_the_canary(
    server: Server, admin_headers: dict[str, str], body: Any
) -> None:
    res = httpx.post(f"{server.url}/tools/kubectl", json=body, headers=admin_headers, timeout=30)
    assert res.status_code == 422, res.text[:300]
    assert res.json()["detail"]["code"] == "invalid_arguments"
    assert CANARY not in res.text


def test_a_rest_body_that_is_not_json_is_422_without_its_text(server: Server) -> None:
    res = httpx.post(
        f"{server.url}/tools/kubectl",
        content=b'{"command": "' + CANARY.encode(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert res.status_code == 422
    assert CANARY not in res.text


@pytest.mark.parametrize("body", [b for b in BODIES if isinstance(b, dict)])
async def test_mcp_arguments_that_do_not_fit_are_a_tool_error_without_the_canary(
    server: Server, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    result = await call_tool(server.url, admin_headers, "kubectl", body)
    assert result.isError
    assert CANARY not in json.dumps(result.model_dump(mode="json"))
    assert "invalid_arguments" in text_of(result)


@pytest.mark.parametrize(
    "payload",
    [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": 5, "arguments": {"c": CANARY}},
        },
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "kubectl", "arguments": CANARY},
        },
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": CANARY},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [CANARY]},
        {"jsonrpc": "2.0", "method": "notifications/initialized", "params": CANARY},
        {"jsonrpc": "2.0", "id": 1, "result": CANARY},
        {"jsonrpc": "1.0", "id": 1, "method": CANARY},
        {"jsonrpc": "2.0", "id": 1, "method": CANARY},
        {"jsonrpc": "2.0", "id": {"x": CANARY}, "method": "ping"},
    ],
)
def test_a_malformed_jsonrpc_message_is_answered_without_the_canary(server: Server, payload: Any) -> None:
    res = httpx.post(
        f"{server.url}/mcp",
        json=payload,
        headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"},
        timeout=30,
    )
    assert res.status_code == 202 or "error" in res.text, res.text[:300]
    assert CANARY not in res.text


def test_an_unsupported_protocol_version_header_is_not_echoed(server: Server) -> None:
    res = httpx.post(
        f"{server.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": CANARY},
        timeout=30,
    )
    assert res.status_code == 400
    assert CANARY not in res.text


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.just(CANARY) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["x", CANARY, "command"]), inner, max_size=3)
    ),
    max_leaves=8,
)
_ENVELOPE = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", CANARY])},
    optional={
        # a string id comes back in its answer by design (JSON-RPC correlation), so it is never the canary
        "id": st.one_of(st.integers(), _JSON.filter(lambda v: v != CANARY)),
        "method": st.sampled_from(
            ["tools/call", "tools/list", "initialize", "ping", CANARY, "notifications/cancelled"]
        ),
        "params": st.one_of(
            _JSON,
            st.fixed_dictionaries(
                {"name": st.sampled_from(["kubectl", CANARY]), "arguments": _JSON},
                optional={"_meta": _JSON},
            ),
        ),
        "result": _JSON,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=_ENVELOPE)
def test_no_mcp_answer_to_a_message_that_cannot_run_repeats_the_canary(server: Server, message: Any) -> None:
    """Whatever the envelope, with arguments that never form a command (no string `command`)."""
    params = message.get("params")
    if isinstance(params, dict) and isinstance(params.get("arguments"), dict):
        params["arguments"].pop("command", None)
    res = httpx.post(
        f"{server.url}/mcp",
        json=message,
        headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"},
        timeout=30,
    )
    assert res.status_code < 500, res.text[:300]
    assert CANARY not in res.text
