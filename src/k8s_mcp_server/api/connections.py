"""Connection bounds below the ASGI app: how many connections, from whom, and how slowly they may send.

uvicorn's h11 protocol times out only idle keep-alive connections: a client that sends half a
request line, half its headers or half its body holds the connection (and a file descriptor) for
as long as it likes, and a new connection that sends nothing at all is never timed out. Here every
request, from its first byte (or the connection's start) to the end of its body, must arrive within
`read_timeout`; a client that is slower gets `408` and the connection is closed. A source address
holds at most `per_source` connections and the server at most `total`; a connection past either is
answered (`429`/`503 too_many_connections`) as soon as its request arrives, within a second, and
closed without reading it. A request line and headers longer than `max_header_bytes` get
`431 headers_too_large`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# A refused connection is given this long to send its request, so that its client reads why it was
# refused (clients send at once); and at most this many wait at a time, the rest are closed at once.
REFUSAL_LINGER_SECONDS = 1.0
MAX_LINGERING = 256


# Told of every refusal made here (code, message, source address, status): the audit's refusal
# aggregate (audit/refusals.py), since these answers are given before any ASGI layer sees a request.
OnRefusal = Callable[[str, str, str, int], None]


class ConnectionGuard:
    """The counts shared by every connection of one server."""

    def __init__(
        self,
        *,
        total: int,
        per_source: int,
        read_timeout: float,
        max_header_bytes: int,
        on_refusal: OnRefusal | None = None,
    ) -> None:
        self.total = total
        self.per_source = per_source
        self.read_timeout = read_timeout
        self.max_header_bytes = max_header_bytes
        self.on_refusal = on_refusal
        self.open: Counter[str] = Counter()
        self.dropped_slow = 0  # connections closed for sending too slowly (for tests and metrics)
        self.lingering = 0  # refused connections waiting for their request, to answer it

    def refusal(self, source: str) -> tuple[int, str] | None:
        """Why a new connection from `source` is refused, or None (it is then counted)."""
        if self.open[source] >= self.per_source:
            return 429, (
                f"this address already has {self.per_source} open connections "
                "(K8S_MCP_MAX_CONNECTIONS_PER_SOURCE): reuse or close one"
            )
        if sum(self.open.values()) >= self.total:
            return 503, f"the server has {self.total} open connections (K8S_MCP_MAX_CONNECTIONS): retry later"
        self.open[source] += 1
        return None

    def refused(self, code: str, message: str, source: str, status: int) -> bytes:
        """The answer to send, after telling `on_refusal` (which must not raise: it is logged)."""
        if self.on_refusal is not None:
            try:
                self.on_refusal(code, message, source, status)
            except Exception:
                log.exception("a refusal could not be counted for the audit log")
        return _raw_response(status, _REASONS[status], code, message)

    def may_linger(self) -> bool:
        """A refused connection may wait for its request while it fits in the total with the rest."""
        return self.lingering < MAX_LINGERING and sum(self.open.values()) + self.lingering < self.total

    def closed(self, source: str) -> None:
        self.open[source] -= 1
        if self.open[source] <= 0:
            del self.open[source]


def _raw_response(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"detail": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


_REASONS = {
    408: "Request Timeout",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


def bounded_protocol(guard: ConnectionGuard) -> type[H11Protocol]:
    """uvicorn's h11 protocol class with `guard`'s bounds (pass it as uvicorn's `http`)."""

    class BoundedH11Protocol(H11Protocol):
        _source: str | None = None
        _deadline: asyncio.TimerHandle | None = None
        _head = 0  # bytes of the current request's line and headers seen so far
        _refusal = b""  # the answer of a refused connection, sent when its request arrives
        _lingers = False
        _head_tail = b""  # the last bytes of the previous chunk: the blank line may straddle two

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            source = self.client[0] if self.client else "-"
            refused = guard.refusal(source)
            if refused is not None:
                # answered when the request comes (closing at once would make the client's request
                # meet a reset, and it would never read why), or after the read timeout
                status, message = refused
                self._refusal = guard.refused("too_many_connections", message, source, status)
                if not guard.may_linger():
                    self._refuse()
                    return
                guard.lingering += 1
                self._lingers = True
                self._deadline = self.loop.call_later(REFUSAL_LINGER_SECONDS, self._refuse)
                return
            self._source = source
            self._arm()  # a connection that sends nothing is a slow request too

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._lingers:
                self._lingers = False
                guard.lingering -= 1
            if self._source is not None:
                guard.closed(self._source)
                self._source = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refusal:
                self._refuse()  # nothing of it is parsed
                return
            if self.conn.their_state is h11.IDLE and self._head_too_large(data):
                message = (
                    f"the request line and headers are limited to {guard.max_header_bytes} bytes "
                    "(K8S_MCP_MAX_HEADER_BYTES): send a large kubeconfig in the `kubeconfig` body field"
                )
                self.transport.write(guard.refused("headers_too_large", message, self._source or "-", 431))
                self.transport.close()
                self._disarm()
                return
            super().data_received(data)
            if self.transport.is_closing():
                self._disarm()
            elif self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
                self._arm()  # part of a request is here: the rest has until the deadline
            else:
                self._disarm()

        def _refuse(self) -> None:
            self._disarm()
            if self._lingers:
                self._lingers = False
                guard.lingering -= 1
            if not self.transport.is_closing():
                self.transport.write(self._refusal)
                self.transport.close()

        def _head_too_large(self, data: bytes) -> bool:
            """Count the request head as it arrives (h11's own bound applies only to a head that is
            still incomplete when a read ends: a large one that arrives whole would pass it)."""
            window = self._head_tail + data
            end = window.find(b"\r\n\r\n")
            if end < 0:
                self._head += len(data)
                self._head_tail = window[-3:]
            else:
                self._head += end + 4 - len(self._head_tail)
            too_large = self._head > guard.max_header_bytes
            if end >= 0:
                self._head, self._head_tail = 0, b""
            return too_large

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(guard.read_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
                return  # the request has arrived meanwhile (its events were handled)
            guard.dropped_slow += 1
            started = self.cycle is not None and self.cycle.response_started
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True  # the app waiting for the body sees a disconnect
                self.cycle.message_event.set()
            if not started:
                message = (
                    f"the request did not arrive within {guard.read_timeout:g} s "
                    "(K8S_MCP_REQUEST_READ_TIMEOUT)"
                )
                self.transport.write(guard.refused("request_timeout", message, self._source or "-", 408))
            self.transport.close()

    return BoundedH11Protocol


def uvicorn_options(guard: ConnectionGuard, *, keep_alive: float) -> dict[str, Any]:
    """The uvicorn.Config keywords for these bounds."""
    return {
        "http": bounded_protocol(guard),
        "h11_max_incomplete_event_size": guard.max_header_bytes,
        "timeout_keep_alive": keep_alive,
    }
