"""The body bound as ASGI middleware: by Content-Length before anything is read, and by counting."""

from __future__ import annotations

import json

from starlette.types import Message, Receive, Scope, Send

from k8s_mcp_server.api.limits import BodyLimit

LIMIT = 1024


class Echo:
    """Reads the whole body, answers with its size."""

    def __init__(self) -> None:
        self.called = False
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            self.read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(self.read).encode()})


def scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/tools/kubectl", "headers": headers}


async def call(
    app: Echo, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[list[Message], int]:
    sent: list[Message] = []
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    received = 0

    async def receive() -> Message:
        nonlocal received
        received += 1
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await BodyLimit(app, max_bytes=LIMIT)(scope(headers), receive, send)
    return sent, received


def status_and_code(sent: list[Message]) -> tuple[int, str | None]:
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    code = json.loads(body)["detail"]["code"] if sent[0]["status"] != 200 else None
    return sent[0]["status"], code


async def test_a_declared_length_past_the_bound_is_refused_before_anything_is_read() -> None:
    app = Echo()
    sent, received = await call(app, [(b"content-length", str(400 * 2**20).encode())], [b"x" * 10])
    assert status_and_code(sent) == (413, "body_too_large")
    assert (b"connection", b"close") in sent[0]["headers"]
    assert received == 0 and not app.called


async def test_a_streamed_body_is_cut_when_its_bytes_pass_the_bound_and_the_apps_answer_is_dropped() -> None:
    app = Echo()
    sent, received = await call(app, [(b"transfer-encoding", b"chunked")], [b"x" * 600] * 10)
    assert status_and_code(sent) == (413, "body_too_large")
    assert len([m for m in sent if m["type"] == "http.response.start"]) == 1  # only the refusal
    assert received == 2  # nothing read past the chunk that crossed the bound


async def test_a_body_within_the_bound_reaches_the_app_whole() -> None:
    app = Echo()
    sent, _ = await call(app, [(b"content-length", b"1000")], [b"x" * 500, b"x" * 500])
    assert status_and_code(sent) == (200, None)
    assert app.read == 1000


async def test_an_unreadable_content_length_is_refused() -> None:
    sent, _ = await call(Echo(), [(b"content-length", b"12x")], [b""])
    assert status_and_code(sent)[0] == 413
