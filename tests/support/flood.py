"""A fast HTTP/1.1 flood client: raw keep-alive connections with pipelined requests, so that 100,000
requests are bounded by the server, not by an HTTP library's per-request cost."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from urllib.parse import urlsplit

PIPELINE = 16  # requests in flight per connection
# One response's bound: the server answers a refusal in milliseconds; this only stops a hung test.
READ_TIMEOUT = 60.0


def request_bytes(
    host: str, path: str, body: dict[str, object], headers: dict[str, str] | None = None
) -> bytes:
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             "Accept: application/json, text/event-stream", f"Content-Length: {len(payload)}"]  # fmt: skip
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


async def _connection(url: str, request: bytes, count: int, statuses: Counter[int]) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        left = count
        while left > 0:
            batch = min(PIPELINE, left)
            writer.write(request * batch)
            await writer.drain()
            for _ in range(batch):
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT)
                statuses[status] += 1
            left -= batch
    finally:
        writer.close()


async def flood(url: str, request: bytes, total: int, *, connections: int = 8) -> Counter[int]:
    """Send `request` `total` times over `connections` connections; the count of each status."""
    statuses: Counter[int] = Counter()
    shares = [total // connections + (1 if i < total % connections else 0) for i in range(connections)]
    await asyncio.gather(*(_connection(url, request, share, statuses) for share in shares if share))
    return statuses
