"""The audit log writer: one lock, one append-only file, a hash chain that survives restarts and rotation."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from k8s_mcp_server.audit.anchors import SERVER_KINDS, anchors_path, append_anchor, latest
from k8s_mcp_server.audit.chain import (
    GENESIS_HASH,
    SCHEMA_VERSION,
    canonical_json,
    compute_hash,
    is_hash,
    utc_timestamp,
)
from k8s_mcp_server.audit.files import (
    KEEP_ROTATED,
    count_lines,
    fsync_directory,
    read_head,
    read_tail,
    rotate,
    rotated_files,
    rotated_path,
)
from k8s_mcp_server.errors import AuditUnavailable

logger = logging.getLogger(__name__)

_RESERVED = ("schema_version", "ts", "chain", "prev_hash", "hash")


class _Ticket:
    """One appended record waiting until an fsync covers it."""

    __slots__ = ("done", "ok", "seq")

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.done = False
        self.ok = False


class AuditLog:
    """Append-only JSON Lines audit log with a SHA-256 hash chain.

    The file is opened on the first `write` (so a broken path never stops the server from starting, it
    makes every request fail closed with `AuditUnavailable` instead). A sidecar lock file held with
    `flock` keeps a second writer (another worker process) from forking the chain.

    With fsync on, `write` returns only once the record is on disk, but concurrent writers share
    fsyncs (group commit): records are appended in chain order under the lock, then one waiting writer
    fsyncs everything appended so far while the others wait for that fsync instead of queueing their
    own. If the fsync fails, every record it was meant to cover fails with `AuditUnavailable`.

    Evidence is kept (docs/audit.md, "Rotation and anchors"): every rotation, every `checkpoint()` and
    the close are entered in the anchors file beside the log, and rotation deletes a rotated file past
    `keep` only when its records were verified and anchored (`audit anchor`) or shipped as written
    (the stdout sink); otherwise rotated files accumulate.
    """

    def __init__(
        self,
        path: Path,
        *,
        fsync: bool = True,
        stdout: bool = False,
        max_bytes: int = 0,
        chain_id: str | None = None,
    ) -> None:
        self.path = Path(path)
        # The name of this writer's chain, in every record (`chain`, covered by the hash) when set: the
        # records of many processes (a fleet's pods, merged by a log collector) split back into their
        # chains with `audit split`. None: no `chain` field, as before.
        self.chain_id = chain_id
        self.fsync = fsync
        self.stdout = stdout
        self.max_bytes = max_bytes
        self.keep = KEEP_ROTATED
        self.anchors = anchors_path(self.path)
        self._segment = 1  # the live file's segment number (anchors.py)
        self._records = 0  # records in the live file
        self._first_prev = GENESIS_HASH  # prev_hash of the live file's first record
        self._checkpointed: tuple[int, int, str] | None = None  # (segment, records, hash) last anchored
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._size = 0
        self._last_hash = GENESIS_HASH
        self._closed = False
        # Group commit. Lock order: _lock, then _sync; never take _lock while holding _sync.
        self._sync = threading.Condition(threading.Lock())
        self._seq = 0  # records appended so far (under _lock)
        self._pending: deque[_Ticket] = deque()  # appended, not yet known durable (under _sync)
        self._syncing = False  # a writer is running an fsync for the others (under _sync)

    @property
    def last_hash(self) -> str:
        """The hash of the last record written (or found at open); the next record's prev_hash."""
        return self._last_hash

    def open(self) -> None:
        """Open the file and take the writer lock now rather than at the first write: `serve` calls it
        at start, so a second server on the same file stops with a message naming it, and `/health`
        calls it to report a log no request could write. Raises `AuditUnavailable`."""
        with self._lock:
            if self._closed:
                raise AuditUnavailable("the audit log is closed; restart the server")
            self._ensure_open()

    def write(self, record: Mapping[str, Any], *, durable: bool = True) -> dict[str, Any]:
        """Add schema_version, ts, prev_hash and hash, append the line durably, return the full record.

        Raises `AuditUnavailable` when the record cannot be written; the caller must then not run anything.
        `durable=False` (completion records: their command has already run) appends the line without
        waiting for an fsync; the next durable record's fsync, or close(), covers it.
        """
        with self._lock:
            if self._closed:
                raise AuditUnavailable("the audit log is closed; restart the server")
            try:
                self._ensure_open()
                full = {key: value for key, value in record.items() if key not in _RESERVED}
                full["schema_version"] = SCHEMA_VERSION
                full["ts"] = utc_timestamp()
                if self.chain_id is not None:
                    full["chain"] = self.chain_id
                full["prev_hash"] = self._last_hash
                full["hash"] = compute_hash(self._last_hash, full)
                line = (canonical_json(full) + "\n").encode("ascii")
            except (TypeError, ValueError) as exc:
                raise AuditUnavailable(
                    f"audit record could not be serialised ({type(exc).__name__}); this is a bug"
                ) from None
            try:
                self._append(line)
            except OSError as exc:
                # Reopen on the next write: recovery re-reads the file's tail and cuts off a torn line.
                self._close_fds()
                raise AuditUnavailable(self._describe(exc)) from None
            self._last_hash = full["hash"]
            ticket: _Ticket | None = None
            if self.fsync and durable:
                self._seq += 1
                ticket = _Ticket(self._seq)
                with self._sync:
                    self._pending.append(ticket)
            if self.stdout:
                try:
                    sys.stdout.write(line.decode("ascii"))
                    sys.stdout.flush()
                except (OSError, ValueError):
                    raise AuditUnavailable("the audit stdout sink cannot be written") from None
        if ticket is not None:
            self._wait_durable(ticket)
        return full

    def _wait_durable(self, ticket: _Ticket) -> None:
        """Return once `ticket`'s record is fsynced: lead an fsync, or wait for the one running."""
        while True:
            with self._sync:
                while not ticket.done and self._syncing:
                    self._sync.wait()
                if ticket.done:
                    break
                self._syncing = True
            self._lead_fsync()
        if not ticket.ok:
            raise AuditUnavailable(
                f"the audit log {self.path} cannot be written (fsync failed); fix its disk or directory"
            )

    def _lead_fsync(self) -> None:
        """fsync everything appended so far, then settle every ticket it covers."""
        ok = False
        target = 0
        try:
            with self._lock:
                target = self._seq
                # A duplicate descriptor: a rotation or a failure may close `_fd` while we fsync.
                fd = os.dup(self._fd) if self._fd is not None else None
            if fd is not None:
                try:
                    os.fsync(fd)
                    ok = True
                except OSError as exc:
                    logger.error("audit: fsync of %s failed: %s", self.path, exc.strerror)
                    with self._lock:
                        self._close_fds()  # reopen and recover the tail on the next write
                finally:
                    os.close(fd)
        finally:
            with self._sync:
                self._settle(target, ok=ok)
                self._syncing = False
                self._sync.notify_all()

    def _settle(self, through: int, *, ok: bool) -> None:
        """Mark pending tickets up to seq `through` durable (ok) or failed. Caller holds _sync."""
        while self._pending and self._pending[0].seq <= through:
            ticket = self._pending.popleft()
            ticket.ok = ok
            ticket.done = True

    async def awrite(self, record: Mapping[str, Any], *, durable: bool = True) -> dict[str, Any]:
        """`write` from a worker thread, so an fsync does not block the event loop (a non-durable
        write is one append, done in place)."""
        if not durable:
            return self.write(record, durable=False)
        return await asyncio.to_thread(self.write, record)

    def close(self) -> None:
        """Checkpoint, close the file and release the writer lock; later writes raise `AuditUnavailable`."""
        self.checkpoint()
        with self._lock:
            self._closed = True
            if self._fd is not None and self.fsync:
                try:
                    os.fsync(self._fd)
                    with self._sync:
                        self._settle(self._seq, ok=True)
                except OSError:
                    pass  # _close_fds fails whatever is still pending
            self._close_fds()

    def checkpoint(self) -> bool:
        """Enter the live file's record count and last hash in the anchors file (after an fsync of the
        log, so an anchor never names a record a crash could lose). False when nothing was added."""
        with self._lock:
            if self._fd is None or self._closed:
                return False
            state = (self._segment, self._records, self._last_hash)
            if state == self._checkpointed or self._records == 0:
                return False
            fd = os.dup(self._fd)
        try:
            os.fsync(fd)
        except OSError as exc:
            logger.error("audit: fsync of %s before a checkpoint failed: %s", self.path, exc.strerror)
            return False
        finally:
            os.close(fd)
        with self._lock:
            if self._segment != state[0]:
                return False  # rotated meanwhile: the rotation entry says more than this would
            entry = {"kind": "checkpoint", "segment": state[0], "records": state[1], "last_hash": state[2]}
            if not self._anchor(entry):
                return False
            self._checkpointed = state
        return True

    def _anchor(self, entry: Mapping[str, Any]) -> bool:
        """Append to the anchors file; a failure is logged, not raised: the log itself still works, and
        without anchors nothing is released. Caller holds _lock."""
        try:
            append_anchor(self.anchors, entry, fsync=self.fsync)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            logger.error("audit: the anchors file %s cannot be written (%s)", self.anchors, reason)
            return False
        return True

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ensure_open(self) -> None:
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._take_writer_lock()
            self._last_hash = self._recover_last_hash()
            self._open_file()
            self._records = count_lines(self.path)
            head = read_head(self.path) if self._records else None
            first_prev = _field_of_line(head, "prev_hash") if head is not None else None
            self._first_prev = first_prev or self._last_hash
            self._recover_segment()
        except OSError as exc:
            self._close_fds()
            raise AuditUnavailable(self._describe(exc)) from None

    def _recover_segment(self) -> None:
        """The live segment from the anchors file; enter a rotation a crash left out, or start anchoring."""
        try:
            last = latest(self.anchors, lambda e: e.get("kind") in SERVER_KINDS - {"released"})
        except OSError:
            last = None
        rotated = rotated_files(self.path)
        if last is None:
            self._segment = len(rotated) + 1
            self._anchor(
                {
                    "kind": "start",
                    "segment": self._segment,
                    "records": self._records,
                    "last_hash": self._last_hash,
                }
            )
            return
        self._segment = int(last.get("segment", 0)) + (1 if last.get("kind") == "rotated" else 0)
        if last.get("kind") != "rotated" and self._records == 0 and rotated:
            # The live file was renamed but the rotation never entered (a crash in between).
            summary = _summary(rotated[0])
            if summary is not None and summary["last_hash"] == self._last_hash:
                self._anchor({"kind": "rotated", "segment": self._segment, **summary})
                self._segment += 1

    def _take_writer_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise AuditUnavailable(
                f"another process is already writing the audit log {self.path}; "
                "run one server process per audit file"
            ) from None

    def _open_file(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        self._fd = os.open(self.path, flags, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _recover_last_hash(self) -> str:
        """The hash to continue from: last record of the live file, else of the newest rotated file."""
        for candidate in (self.path, rotated_path(self.path, 1)):
            if candidate.exists() and candidate.stat().st_size > 0:
                found = self._last_hash_of(candidate, live=candidate == self.path)
                if found is not None:
                    return found
        return GENESIS_HASH

    def _last_hash_of(self, path: Path, *, live: bool) -> str | None:
        """The last record's hash; None if the file holds no complete line (after cutting a torn one)."""
        tail = read_tail(path)
        if tail.torn:
            torn_hash = _hash_of_line(tail.torn)
            if torn_hash is not None and live:
                # A complete record whose newline was lost: finish the line instead of dropping it.
                with path.open("ab") as handle:
                    handle.write(b"\n")
                return torn_hash
            if live:
                logger.warning(
                    "audit log %s ended in %d bytes of an interrupted write; cut them off",
                    path,
                    len(tail.torn),
                )
                os.truncate(path, tail.complete_end)
        if tail.last_line is None:
            return None
        last_hash = _hash_of_line(tail.last_line)
        if last_hash is None:
            raise AuditUnavailable(
                f"the last line of {path} is not a valid audit record, so the hash chain cannot continue; "
                "run `k8s-mcp-server audit verify` on it and move the damaged file aside"
            )
        return last_hash

    def _append(self, line: bytes) -> None:
        if self.max_bytes > 0 and self._size > 0 and self._size + len(line) > self.max_bytes:
            self._rotate()
        if self._fd is None:
            raise AuditUnavailable("the audit log is not open")
        view = memoryview(line)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(line)
        self._records += 1

    def _rotate(self) -> None:
        finished = {
            "kind": "rotated",
            "segment": self._segment,
            "records": self._records,
            "first_prev_hash": self._first_prev,
            "last_hash": self._last_hash,
        }
        if self._fd is not None:
            if self.fsync:
                os.fsync(self._fd)  # the old file's records are durable before it is renamed away
                with self._sync:
                    self._settle(self._seq, ok=True)
                    self._sync.notify_all()
            os.close(self._fd)
            self._fd = None
        self._release_old()
        rotate(self.path, fsync=self.fsync)
        self._anchor(finished)
        self._segment += 1
        self._records = 0
        self._first_prev = self._last_hash
        self._open_file()
        if self.fsync:
            fsync_directory(self.path.parent)

    def _release_old(self) -> None:
        """Delete the oldest rotated files past `keep` that may go: verified and anchored by `audit
        anchor`, or shipped (stdout sink). The first that may not stops it: nothing newer goes first."""
        rotated = rotated_files(self.path)
        excess = len(rotated) + 1 - self.keep
        if excess <= 0:
            return
        try:
            verified = latest(self.anchors, lambda e: e.get("kind") == "verified")
        except OSError:
            verified = None
        hashes = {f.get("last_hash") for f in (verified or {}).get("files", []) if isinstance(f, dict)}
        for path in reversed(rotated):
            if excess <= 0:
                return
            summary = _summary(path)
            if summary is None:
                break
            why = "shipped" if self.stdout else ("verified" if summary["last_hash"] in hashes else None)
            if why is None:
                break
            segment = latest(self.anchors, _rotated_entry_of(summary["last_hash"]))
            entry = {"kind": "released", "why": why, "segment": (segment or {}).get("segment"), **summary}
            if not self._anchor(entry):
                break  # an unrecorded deletion would look like tampering: keep the file
            path.unlink()
            excess -= 1
        logger.warning(
            "audit: keeping %d rotated file(s) of %s beyond %d until their records are verified and "
            "anchored: run `k8s-mcp-server audit anchor %s`",
            excess,
            self.path,
            self.keep,
            self.path,
        )

    def _close_fds(self) -> None:
        """Close the file (after a failure or at close). Records not yet fsynced cannot be proven
        durable any more: their writers get `AuditUnavailable`. Caller holds _lock."""
        with self._sync:
            self._settle(self._seq, ok=False)
            self._sync.notify_all()
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._fd = None
        self._lock_fd = None

    def _describe(self, exc: OSError) -> str:
        reason = exc.strerror or type(exc).__name__
        return f"the audit log {self.path} cannot be written ({reason}); fix its directory or permissions"


def _field_of_line(line: bytes, field: str) -> str | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    found = value.get(field) if isinstance(value, dict) else None
    return found if is_hash(found) else None


def _rotated_entry_of(last_hash: str) -> Callable[[dict[str, Any]], bool]:
    def wanted(entry: dict[str, Any]) -> bool:
        return entry.get("kind") == "rotated" and entry.get("last_hash") == last_hash

    return wanted


def _summary(path: Path) -> dict[str, Any] | None:
    """{records, first_prev_hash, last_hash} of a rotated file; None if it holds no records."""
    head = read_head(path)
    tail = read_tail(path)
    if head is None or tail.last_line is None:
        return None
    first_prev = _field_of_line(head, "prev_hash")
    last_hash = _field_of_line(tail.last_line, "hash")
    if first_prev is None or last_hash is None:
        return None
    return {"records": count_lines(path), "first_prev_hash": first_prev, "last_hash": last_hash}


def _hash_of_line(line: bytes) -> str | None:
    """The `hash` of a JSON record line, or None if the line is not a record."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict) or not is_hash(value.get("hash")):
        return None
    return str(value["hash"])
