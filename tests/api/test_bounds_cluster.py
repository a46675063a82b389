"""Against the real server: no request can hold the server with its size, its slowness or its count.

Asserted are outcomes (status codes, codes, connections closed, /health answering, the server's memory
staying in its range); bounds in time only generously (a slow request dropped within 10x the read
timeout). The figures (RSS, drop times) are printed with -s and measured in bench/bench_bounds.py.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_env
from tests.support.cluster import REPO, Cluster
from tests.support.server import Server, start_server

pytestmark = pytest.mark.cluster

READ_TIMEOUT = 1.0
PER_SOURCE = 8
MiB = 1024 * 1024
# The server's memory may grow by caches and allocator slack, never by the size of a refused body.
MEMORY_HEADROOM = 64 * MiB


def rss(server: Server) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(cluster: Cluster, standin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        **server_env(cluster, standin_dir, REPO / "policies" / "default.yaml"),
        "K8S_MCP_REQUEST_READ_TIMEOUT": str(READ_TIMEOUT),
        "K8S_MCP_MAX_CONNECTIONS_PER_SOURCE": str(PER_SOURCE),
        "K8S_MCP_AUDIT_FSYNC": "false",
    }
    srv = start_server(tmp_path_factory.mktemp("bounds"), env, name="bounds")
    try:
        yield srv
    finally:
        srv.stop()


def connect(server: Server, source: str = "127.0.0.1") -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10 * READ_TIMEOUT, source_address=(source, 0))
    return sock


def response_head(sock: socket.socket) -> bytes:
    """What the server sent until it closed the connection (or the first 64 KiB)."""
    data = b""
    while len(data) < 65536:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return data


def health(server: Server, source: str) -> int:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.get(f"{server.url}/health").status_code


def send_body(sock: socket.socket, head: bytes, chunk: bytes, total: int, *, chunked: bool) -> int:
    sock.sendall(head)
    sent = 0
    try:
        while sent < total:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading: what this test wants
    return sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_400_mib_body_is_refused_without_the_servers_memory_growing(server: Server, chunked: bool) -> None:
    health(server, "127.0.0.1")
    before = rss(server)
    framing = b"transfer-encoding: chunked" if chunked else f"content-length: {400 * MiB}".encode()
    head = (
        b"POST /tools/kubectl HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n%s\r\n\r\n"
        % framing
    )
    with connect(server) as sock:
        sent = send_body(sock, head, b'{"kubeconfig": "' + b"A" * MiB, 400 * MiB, chunked=chunked)
        answer = response_head(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"body_too_large"' in answer and b"K8S_MCP_MAX_BODY_BYTES" in answer
    assert sent < 400 * MiB  # the server closed the connection instead of reading it all
    after = rss(server)
    print(
        f"\n{'chunked' if chunked else 'content-length'}: sent {sent / MiB:.0f} MiB before the close; "
        f"RSS {before / MiB:.1f} -> {after / MiB:.1f} MiB"
    )
    assert after < before + MEMORY_HEADROOM


def test_headers_past_the_bound_are_refused_by_the_http_layer(server: Server) -> None:
    res = httpx.get(f"{server.url}/health", headers={"X-Padding": "a" * 100_000}, timeout=10)
    assert res.status_code == 431
    assert res.json()["detail"]["code"] == "headers_too_large"
    assert (
        httpx.get(f"{server.url}/health", headers={"X-Padding": "a" * 40_000}, timeout=10).status_code == 200
    )


def test_300_half_sent_requests_are_dropped_within_the_read_timeout_while_health_answers(
    server: Server,
) -> None:
    sources = [f"127.0.1.{i}" for i in range(1, 301 // PER_SOURCE + 2)]  # many sources, under each cap
    sockets = []
    started = time.monotonic()
    for i in range(300):
        sock = connect(server, sources[i % len(sources)])
        sock.sendall(b"POST /tools/kubectl HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-le")
        sockets.append(sock)
    assert health(server, "127.0.0.2") == 200  # while all 300 are held
    answers = [response_head(sock) for sock in sockets]
    took = time.monotonic() - started
    for sock in sockets:
        sock.close()
    assert all(a.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in a for a in answers)
    assert took < 10 * READ_TIMEOUT + 10  # generous: the bound is READ_TIMEOUT after the last connect
    assert health(server, "127.0.0.2") == 200
    print(f"\n300 half-sent requests: all dropped with 408 {took:.2f} s after the first was opened")
    # audited in aggregate (written at the end of the refusal interval: 10 s), never one record each
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and counted(server, "request_timeout") < 300:
        time.sleep(0.5)
    assert counted(server, "request_timeout") >= 300


def counted(server: Server, code: str) -> int:
    """Refusals of `code` the connection layer counted in the audit log's aggregate records."""
    records = [json.loads(line) for line in server.audit_log.read_text().splitlines()]
    return sum(
        r["count"]
        for r in records
        if r.get("event") == "refusals" and r["error_code"] == code and r["route"] == "connection"
    )


def test_a_half_sent_body_is_dropped_too(server: Server) -> None:
    with connect(server, "127.0.0.3") as sock:
        sock.sendall(
            b"POST /tools/kubectl HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b'content-length: 100\r\n\r\n{"command": "get'
        )
        answer = response_head(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with connect(server, "127.0.0.4") as sock:
        assert response_head(sock).startswith(b"HTTP/1.1 408 ")


def test_connections_past_the_per_source_cap_are_refused_and_other_sources_are_not(server: Server) -> None:
    held = [connect(server, "127.0.0.5") for _ in range(PER_SOURCE)]
    try:
        time.sleep(0.2)  # the server has counted them (connection_made runs on its loop)
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5"), timeout=30) as extra:
            answer = extra.post(f"{server.url}/tools/kubectl", json={"command": "get ns"})
        assert answer.status_code == 429  # read by the client, not lost to a reset
        assert answer.json()["detail"]["code"] == "too_many_connections"
        assert "K8S_MCP_MAX_CONNECTIONS_PER_SOURCE" in answer.json()["detail"]["message"]
        assert health(server, "127.0.0.6") == 200
    finally:
        for sock in held:
            sock.close()


def test_the_log_does_not_repeat_one_error_for_every_bad_request(server: Server) -> None:
    for _ in range(200):
        with connect(server, "127.0.0.7") as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            response_head(sock)
    assert server.log_path.read_text().count("Invalid HTTP request received.") <= 10
