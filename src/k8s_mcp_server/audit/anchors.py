"""The anchors file beside the audit log: a hash-chained record of what the log must contain.

`audit.jsonl.anchors` is JSON Lines with its own SHA-256 chain (the same canonical form and hash as
the log). The server appends:

- `checkpoint` {segment, records, last_hash}: the live file holds `records` records and the last of
  them has `last_hash`; written every flush interval when records were added, and at shutdown;
- `rotated` {segment, records, first_prev_hash, last_hash}: the live file was rotated with exactly
  these records; a rotated file is named by its content, not by its name (names shift);
- `released` {segment, records, last_hash, why}: rotation deleted that file, allowed because its
  records were verified and anchored (`why: verified`) or shipped as written (`why: shipped`);
- `start` {segment, records, last_hash}: anchoring began here (a log older than the anchors file).

`k8s-mcp-server audit anchor` appends `verified` {through_hash, records, files: [{last_hash,
records}]}: the rotated files it verified, which rotation may then release.

A segment is one file's worth of the log: the live file is segment N, it becomes a rotated file and
segment N+1 starts. Appends from the server and from the CLI take an exclusive `flock` on the file, so
two writers never fork its chain. Nothing here is on a request's path.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from k8s_mcp_server.audit.chain import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    canonical_json,
    compute_hash,
    utc_timestamp,
)
from k8s_mcp_server.audit.files import read_tail

ANCHORS_SUFFIX = ".anchors"
SERVER_KINDS = frozenset({"checkpoint", "rotated", "released", "start"})
_CHUNK = 64 * 1024


def anchors_path(log_path: Path) -> Path:
    """`audit.jsonl.anchors` beside `audit.jsonl`."""
    return log_path.with_name(log_path.name + ANCHORS_SUFFIX)


def append_anchor(path: Path, entry: Mapping[str, Any], *, fsync: bool = True) -> dict[str, Any]:
    """Append one chained entry under an exclusive lock; returns it with ts, prev_hash and hash.

    Raises OSError when the file cannot be written, ValueError when its last line is not an entry
    (a damaged anchors file is not extended: run `audit verify` on it and move it aside).
    """
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        prev = _last_hash(path)
        full = {key: value for key, value in entry.items() if key not in ("prev_hash", "hash")}
        full.update(schema_version=SCHEMA_VERSION, ts=utc_timestamp(), prev_hash=prev)
        full["hash"] = compute_hash(prev, full)
        view = memoryview((canonical_json(full) + "\n").encode("ascii"))
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fdatasync(fd)  # enough for an append: the new size is data
        return full
    finally:
        os.close(fd)  # releases the lock


def _last_hash(path: Path) -> str:
    tail = read_tail(path)
    if tail.last_line is None:
        return GENESIS_HASH
    entry = _parse(tail.last_line)
    if entry is None or not isinstance(entry.get("hash"), str):
        raise ValueError(f"the last line of {path} is not an anchor entry")
    return str(entry["hash"])


def read_anchors(path: Path) -> list[dict[str, Any]]:
    """Every entry, oldest first (lines that are not entries are left out: `verify` names them)."""
    with path.open("rb") as handle:
        return [entry for entry in map(_parse, handle) if entry is not None]


def latest(path: Path, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The newest entry for which `wanted` is true, reading backwards (the file only grows)."""
    if not path.exists():
        return None
    for line in _reversed_lines(path):
        entry = _parse(line)
        if entry is not None and wanted(entry):
            return entry
    return None


def _reversed_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        rest = b""
        while position > 0:
            step = min(_CHUNK, position)
            position -= step
            handle.seek(position)
            pieces = (handle.read(step) + rest).split(b"\n")
            rest = pieces[0]
            yield from (piece for piece in reversed(pieces[1:]) if piece)
        if rest:
            yield rest


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
