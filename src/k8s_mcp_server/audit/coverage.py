"""Verify a rotated set against its anchors file: no file missing, no tail cut, no gap.

The chain alone shows that nothing changed between the first and the last record given. The anchors
file (anchors.py) says what the set must contain: every rotated segment with its record count and
last hash, unless rotation released it, and the live file's newest checkpoint. So it catches what the
chain cannot: a rotated file deleted from either end of the set, and records cut off the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k8s_mcp_server.audit.anchors import read_anchors
from k8s_mcp_server.audit.verify import FileSummary, Problem, VerifyResult, verify


@dataclass(frozen=True, kw_only=True)
class Coverage:
    """The chain's result, the first anchor the files do not satisfy (None = all), and notes."""

    result: VerifyResult
    problem: str | None
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.result.ok and not self.result.missing_anchors and self.problem is None


def verify_anchored(paths: Sequence[Path], anchors_file: Path, hashes: Sequence[str] = ()) -> Coverage:
    """`verify(paths, hashes)`, then every entry of `anchors_file` checked against the files."""
    own = verify([anchors_file])
    if own.problem is not None:
        return Coverage(
            result=verify(paths, hashes), problem=f"the anchors file is damaged: {own.problem}", notes=()
        )
    entries = read_anchors(anchors_file)
    rotated = {int(e["segment"]): e for e in entries if e.get("kind") == "rotated" and _int(e.get("segment"))}
    released = {e.get("last_hash"): e for e in entries if e.get("kind") == "released"}
    # Every checkpoint of the live segment (not only the newest: a file cut while the server was down
    # and written again since would satisfy the newest one alone).
    checkpoints = [
        e
        for e in entries
        if e.get("kind") in ("checkpoint", "start")
        and _int(e.get("segment")) not in rotated
        and e.get("records")
        and isinstance(e.get("last_hash"), str)
    ]
    live = checkpoints[-1] if checkpoints else None
    locate = {str(e["last_hash"]) for e in checkpoints}
    result = verify(paths, hashes, locate=locate)
    if result.problem is not None:
        return Coverage(result=result, problem=_gap(result, result.problem, rotated), notes=())
    by_last = {summary.last_hash: summary for summary in result.files}
    for segment in sorted(rotated):
        entry = rotated[segment]
        if entry.get("last_hash") in released:
            continue
        found = by_last.get(entry.get("last_hash"))
        if found is None:
            return Coverage(result=result, problem=_missing(segment, entry, result.files), notes=())
        if found.records != entry.get("records"):
            problem = (
                f"{found.path}: segment {segment} holds {found.records} records, the anchor of "
                f"{entry.get('ts')} says {entry.get('records')}: records were cut off the front of the file"
            )
            return Coverage(result=result, problem=problem, notes=())
    notes = _released_notes(released)
    for checkpoint in checkpoints:
        cut, _ = _check_live(result, checkpoint)
        if cut is not None:
            return Coverage(result=result, problem=cut, notes=notes)
    if live is not None:
        notes = (*notes, _check_live(result, live)[1])
    start = next((e for e in entries if e.get("kind") == "start"), None)
    if start is not None and _int(start.get("segment")) not in (None, 1):
        notes = (
            *notes,
            f"anchoring began at segment {start.get('segment')}: older files are covered by the chain only",
        )
    return Coverage(result=result, problem=None, notes=notes)


def _check_live(result: VerifyResult, live: dict[str, Any]) -> tuple[str | None, str]:
    wanted = str(live["last_hash"])
    last = result.files[-1] if result.files else None
    place = result.located.get(wanted)
    if place is None:
        ends = f"record {last.records} of {last.path}" if last is not None else "no record at all"
        return (
            f"truncated: the log ends at {ends}, but the checkpoint of {live.get('ts')} names record "
            f"{live.get('records')} of segment {live.get('segment')} (hash {wanted}): records were cut "
            "off the end, or the log was rewritten",
            "",
        )
    path, number = place
    if last is None or path != last.path or number != live.get("records"):
        return (
            f"modified: the checkpoint of {live.get('ts')} names record {live.get('records')} of the live "
            f"file, but that hash is record {number} of {path}: records were added or removed before it",
            "",
        )
    after = last.records - number
    return None, (
        f"anchored through the checkpoint of {live.get('ts')} (record {number} of {path}); "
        f"{after} record(s) written after it are covered by the chain only"
    )


def _gap(result: VerifyResult, problem: Problem, rotated: dict[int, dict[str, Any]]) -> str:
    """A chain break at a file's first record, named by the segment that should be there."""
    if problem.kind == "deleted" and problem.line == 1 and result.files:
        before = result.files[-1]
        for segment, entry in sorted(rotated.items()):
            if entry.get("first_prev_hash") == before.last_hash:
                return (
                    f"gap: segment {segment} ({entry.get('records')} records, rotated {entry.get('ts')}, "
                    f"last hash {entry.get('last_hash')}) is missing between {before.path} and "
                    f"{problem.path}: a rotated file was deleted (or not given)"
                )
    return str(problem)


def _missing(segment: int, entry: dict[str, Any], files: Sequence[FileSummary]) -> str:
    after = next((f.path for f in files if f.last_hash == entry.get("first_prev_hash")), None)
    where = f" (it belongs after {after})" if after is not None else " (it would be the oldest file)"
    return (
        f"missing: segment {segment} ({entry.get('records')} records, rotated {entry.get('ts')}, last hash "
        f"{entry.get('last_hash')}) is in none of the files given{where}: a rotated file was deleted, or not "
        "given, and it was never released"
    )


def _released_notes(released: dict[Any, dict[str, Any]]) -> tuple[str, ...]:
    if not released:
        return ()
    segments = sorted(str(e.get("segment")) for e in released.values())
    whys = sorted({str(e.get("why")) for e in released.values()})
    return (f"released by rotation after being {' or '.join(whys)}: segment(s) {', '.join(segments)}",)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
