"""Verify a hash chain over one file or a rotated set (oldest first); name the first bad record."""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path

from k8s_mcp_server.audit.chain import GENESIS_HASH, canonical_json, compute_hash, is_hash
from k8s_mcp_server.audit.reader import Line, iter_lines, parse_record


@dataclass(frozen=True, kw_only=True)
class Problem:
    """The first record that breaks the chain."""

    path: Path
    line: int
    request_id: str | None
    kind: str  # modified | deleted | reordered | truncated | malformed
    detail: str

    def __str__(self) -> str:
        rid = self.request_id if self.request_id is not None else "?"
        return f"{self.path}:{self.line}: request_id={rid}: {self.kind}: {self.detail}"


@dataclass(frozen=True, kw_only=True)
class FileSummary:
    """One file's part of the chain: how many records, the hash before its first and its last hash."""

    path: Path
    records: int
    first_prev_hash: str | None
    last_hash: str | None


@dataclass(frozen=True, kw_only=True)
class VerifyResult:
    """How many records checked out, the last good hash, and the first problem (None = intact)."""

    records: int
    last_hash: str | None
    first_prev_hash: str | None  # GENESIS_HASH unless the set starts after files that were rotated away
    problem: Problem | None
    missing_anchors: tuple[str, ...] = ()  # anchored hashes that no record in the files carries
    files: tuple[FileSummary, ...] = ()  # the files read completely (all of them when ok)
    located: dict[str, tuple[Path, int]] = field(default_factory=dict)  # asked-for hash -> (file, record no.)

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(
    paths: Sequence[Path], anchors: Sequence[str] = (), *, locate: Set[str] = frozenset()
) -> VerifyResult:
    """Check every line is a canonical JSON record, every hash recomputes and every prev_hash links.

    `anchors` are hashes kept outside the log (see docs/audit.md): each must be the hash of a record in
    the files, which catches what the chain alone cannot: records cut off at a line boundary at the
    end, or a log rewritten from scratch with a fresh chain. `locate`: hashes whose place (file,
    1-based record number in it) the result's `located` gives, for the anchors file's checks.
    """
    wanted = {anchor.lower() for anchor in anchors}
    count = 0
    last_hash: str | None = None
    first_prev: str | None = None
    summaries: list[FileSummary] = []
    located: dict[str, tuple[Path, int]] = {}
    current: Path | None = None
    in_file = 0
    file_first_prev: str | None = None

    def close_file() -> None:
        if current is not None:
            summaries.append(
                FileSummary(
                    path=current, records=in_file, first_prev_hash=file_first_prev, last_hash=last_hash
                )
            )

    for line in iter_lines(paths):
        if line.path != current:
            close_file()
            current, in_file, file_first_prev = line.path, 0, None
        record = parse_record(line.data)
        if record is None:
            return VerifyResult(
                records=count, last_hash=last_hash, first_prev_hash=first_prev, problem=_unparsable(line),
                files=tuple(summaries),
            )  # fmt: skip
        rid = record.get("request_id")
        rid = rid if isinstance(rid, str) else None
        problem = _check_record(line, record, rid, last_hash)
        if problem is not None and problem.kind == "deleted":
            problem = _classify_link(paths, line, rid, str(record["prev_hash"]))
        if problem is not None:
            return VerifyResult(
                records=count, last_hash=last_hash, first_prev_hash=first_prev, problem=problem,
                files=tuple(summaries),
            )  # fmt: skip
        if first_prev is None:
            first_prev = str(record["prev_hash"])
        if file_first_prev is None:
            file_first_prev = str(record["prev_hash"])
        last_hash = str(record["hash"])
        wanted.discard(last_hash)
        count += 1
        in_file += 1
        if last_hash in locate:
            located[last_hash] = (line.path, in_file)
    close_file()
    return VerifyResult(
        records=count,
        last_hash=last_hash,
        first_prev_hash=first_prev,
        problem=None,
        missing_anchors=tuple(anchor for anchor in anchors if anchor.lower() in wanted),
        files=tuple(summaries),
        located=located,
    )


def _unparsable(line: Line) -> Problem:
    if line.last_in_file and not line.newline:
        return Problem(
            path=line.path, line=line.number, request_id=None, kind="truncated",
            detail="the last line is cut off (an interrupted write, or the file was truncated)",
        )  # fmt: skip
    return Problem(
        path=line.path, line=line.number, request_id=None, kind="malformed",
        detail="the line is not a JSON object (edited or damaged)",
    )  # fmt: skip


def _check_record(
    line: Line, record: dict[str, object], rid: str | None, last_hash: str | None
) -> Problem | None:
    def problem(kind: str, detail: str) -> Problem:
        return Problem(path=line.path, line=line.number, request_id=rid, kind=kind, detail=detail)

    stored, prev = record.get("hash"), record.get("prev_hash")
    if not is_hash(stored) or not is_hash(prev):
        return problem("malformed", "the record has no valid hash/prev_hash fields")
    if compute_hash(str(prev), record) != stored:
        return problem("modified", "the record's content does not match its hash")
    if canonical_json(record).encode("ascii") != line.data:
        return problem("modified", "the line is not in canonical form (re-encoded or edited)")
    if last_hash is not None and prev != last_hash:
        return problem("deleted", "prev_hash does not match the record before it")
    return None


def _classify_link(paths: Sequence[Path], at: Line, rid: str | None, prev_hash: str) -> Problem:
    """Tell a gap (the predecessor is nowhere) from a reorder (the predecessor is elsewhere)."""
    for line in iter_lines(paths):
        record = parse_record(line.data)
        if record is not None and record.get("hash") == prev_hash:
            where = (
                "later"
                if (paths.index(line.path), line.number) > (paths.index(at.path), at.number)
                else "earlier"
            )
            return Problem(
                path=at.path, line=at.number, request_id=rid, kind="reordered",
                detail=f"its predecessor is at {line.path}:{line.number} ({where} in the log); "
                "records were moved, duplicated, or the files are given out of order",
            )  # fmt: skip
    if prev_hash == GENESIS_HASH:
        detail = (
            "a new chain starts here: the log was restarted from scratch, records before it were "
            "replaced, or the files are given out of order (oldest first)"
        )
    else:
        detail = "the record(s) before it are missing (deleted, or a rotated file is not given)"
    return Problem(path=at.path, line=at.number, request_id=rid, kind="deleted", detail=detail)
