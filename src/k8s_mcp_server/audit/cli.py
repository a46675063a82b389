"""`k8s-mcp-server audit verify | query | tail | stats`: the auditor's view of the log."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from k8s_mcp_server.audit.anchors import anchors_path, append_anchor
from k8s_mcp_server.audit.chain import GENESIS_HASH, is_hash
from k8s_mcp_server.audit.coverage import verify_anchored
from k8s_mcp_server.audit.files import chain_files, iter_tail_lines
from k8s_mcp_server.audit.reader import Line, RecordFilter, iter_records, parse_record, parse_time
from k8s_mcp_server.audit.split import split_chains
from k8s_mcp_server.audit.table import FOLLOW_WIDTHS, render_table, safe_text
from k8s_mcp_server.audit.verify import verify

POLL_SECONDS = 0.5  # `tail -f` poll interval: quick enough for a human, idle enough for a server


def add_audit_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `audit verify|anchor|query|tail|stats`; each sets `func(args) -> int` (the exit code)."""
    audit = subparsers.add_parser("audit", help="verify, query, tail and count the audit log")
    subparsers = audit.add_subparsers(dest="audit_command", required=True)
    p = subparsers.add_parser("verify", help="check the hash chain of an audit log (files oldest first)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--rotated", action="store_true", help="also check each FILE's rotated files (FILE.N)")
    p.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="HASH",
        help="a record hash kept outside the log (repeatable); fail if no record carries it",
    )
    p.add_argument(
        "--anchors",
        type=Path,
        metavar="FILE",
        help="the anchors file to check the set against (default with --rotated: FILE.anchors if it exists; "
        "give a copy kept outside the server to catch a rewritten anchors file)",
    )
    p.add_argument(
        "--each",
        action="store_true",
        help="each FILE (or each *.jsonl in a FILE that is a folder) is its own chain, as the files of "
        "several server processes or pods are: verify every one, one report line per chain",
    )
    p.set_defaults(func=cmd_verify)

    p = subparsers.add_parser(
        "split",
        help="records of many chains in one stream (a fleet's pods, merged by a log collector) into one "
        "file per chain (by each record's `chain`), for `verify --each`",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="JSON Lines or container log files")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="where <chain>.jsonl are written")
    p.set_defaults(func=cmd_split)

    p = subparsers.add_parser(
        "anchor",
        help="verify the rotated set and its anchors, then record it as verified (rotation may then "
        "release those files); prints the line to keep outside the server",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the live audit file (its FILE.N are included)")
    p.set_defaults(func=cmd_anchor)

    p = subparsers.add_parser("query", help="filter records; prints a table or JSON Lines")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    for name in (
        "principal",
        "tool",
        "verb",
        "decision",
        "rule",
        "namespace",
        "event",
        "request-id",
        "approval-id",
    ):
        p.add_argument(f"--{name}", help=f"match {name} (globs allowed)")
    p.add_argument("--since", help="RFC 3339 time, date, or age (15m, 2h, 7d)")
    p.add_argument("--until", help="RFC 3339 time, date, or age")
    p.add_argument("--json", action="store_true", help="print matching records as JSON Lines")
    p.set_defaults(func=cmd_query)

    p = subparsers.add_parser("tail", help="print the last records; -f keeps following")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("-n", "--lines", type=int, default=10, help="how many records (default 10)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    p.add_argument("--json", action="store_true", help="print JSON Lines instead of a table")
    p.set_defaults(func=cmd_tail)

    p = subparsers.add_parser("stats", help="counts by decision, rule, principal and tool")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 and print "ok: N records, last hash H" if the chain holds, else name the first bad record."""
    if getattr(args, "each", False):
        return _verify_each(args)
    files: list[Path] = []
    for path in args.files:
        files.extend(chain_files(path) if args.rotated else [path])
    if (missing := _missing(files)) is not None:
        return missing
    if bad := [anchor for anchor in args.anchor if not is_hash(anchor.lower())]:
        print(f"error: --anchor {safe_text(bad[0])} is not a record hash (64 hex digits)", file=sys.stderr)
        return 2
    anchors_file = args.anchors
    if anchors_file is None and args.rotated and args.files:
        default = anchors_path(args.files[0])
        anchors_file = default if default.is_file() else None
    if anchors_file is not None and not anchors_file.is_file():
        print(f"error: {safe_text(anchors_file)}: no such file", file=sys.stderr)
        return 2
    notes: tuple[str, ...] = ()
    if anchors_file is not None:
        coverage = verify_anchored(files, anchors_file, args.anchor)
        result, notes = coverage.result, coverage.notes
        if coverage.problem is not None:
            print(f"FAIL: {safe_text(coverage.problem)}")
            print(f"({result.records} records before it are intact)")
            return 1
    else:
        result = verify(files, anchors=args.anchor)
    if result.problem is not None:
        print(f"FAIL: {safe_text(result.problem)}")
        print(f"({result.records} records before it are intact)")
        return 1
    if result.missing_anchors:
        print(
            f"FAIL: the anchored hash {result.missing_anchors[0]} is not in the log: records were cut off "
            "the end, the log was rewritten, or the file holding that record was not given"
        )
        print(
            f"(the {result.records} records given form an intact chain, last hash {result.last_hash or '-'})"
        )
        return 1
    print(f"ok: {result.records} records, last hash {result.last_hash or '-'}")
    if result.first_prev_hash not in (None, GENESIS_HASH):
        print(f"note: the chain starts after hash {result.first_prev_hash}; earlier files were not given")
    for note in notes:
        print(f"note: {safe_text(note)}")
    if anchors_file is None and args.rotated:
        print("note: no anchors file: a deleted oldest file or a cut-off end cannot be detected")
    return 0


def _verify_each(args: argparse.Namespace) -> int:
    """`verify --each`: every chain on its own (with --rotated: its FILE.N and FILE.anchors), each
    report line prefixed by the chain's file; exit 1 if any chain fails, 2 if a file is missing."""
    if args.anchor or args.anchors is not None:
        print("error: --anchor/--anchors are one chain's evidence: verify that chain alone", file=sys.stderr)
        return 2
    chains: list[Path] = []
    for path in args.files:
        chains.extend(sorted(p for p in path.glob("*.jsonl") if p.is_file()) if path.is_dir() else [path])
    if not chains:
        print("error: no audit files (*.jsonl) in the folders given", file=sys.stderr)
        return 2
    worst, failed = 0, 0
    for chain in chains:
        report = io.StringIO()
        with contextlib.redirect_stdout(report):
            code = cmd_verify(argparse.Namespace(**{**vars(args), "files": [chain], "each": False}))
        for line in report.getvalue().splitlines():
            print(f"{safe_text(str(chain))}: {line}")
        worst, failed = max(worst, code), failed + (code != 0)
    print(f"{len(chains)} chains: {len(chains) - failed} ok, {failed} failed")
    return worst


def cmd_split(args: argparse.Namespace) -> int:
    """One file per chain in --out; exit 1 when no record named a chain."""
    if (missing := _missing(args.files)) is not None:
        return missing
    try:
        result = split_chains(args.files, args.out)
    except (FileExistsError, OSError) as exc:
        print(f"error: {safe_text(str(exc))}", file=sys.stderr)
        return 2
    for chain, count in sorted(result.chains.items()):
        print(f"{safe_text(str(args.out / f'{chain}.jsonl'))}: {count} records")
    print(
        f"{len(result.chains)} chains; {result.skipped} other lines skipped, "
        f"{result.stderr} stderr lines dropped"
    )
    return 0 if result.chains else 1


def cmd_anchor(args: argparse.Namespace) -> int:
    """Verify FILE's rotated set against its anchors; if it holds, enter it as verified."""
    if (missing := _missing([args.file])) is not None:
        return missing
    files = chain_files(args.file)
    anchors_file = anchors_path(args.file)
    problem: str | None = None
    if anchors_file.is_file():
        coverage = verify_anchored(files, anchors_file)
        result, problem = coverage.result, coverage.problem
    else:
        result = verify(files)
    if problem is None and result.problem is not None:
        problem = str(result.problem)
    if problem is not None:
        print(f"FAIL: {safe_text(problem)}")
        print("nothing was anchored: investigate before any file is released")
        return 1
    rotated = [summary for summary in result.files if summary.path != args.file]
    try:
        entry = append_anchor(
            anchors_file,
            {
                "kind": "verified",
                "through_hash": result.last_hash,
                "records": result.records,
                "files": [{"last_hash": f.last_hash, "records": f.records} for f in rotated],
            },
        )
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        print(f"error: {safe_text(anchors_file)} cannot be written ({safe_text(reason)})", file=sys.stderr)
        return 2
    print(
        f"anchored: {result.records} records in {len(result.files)} file(s), "
        f"last hash {result.last_hash or '-'}, anchor entry {entry['hash']}"
    )
    print("keep this line outside the server; rotation may now release the verified rotated files")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """Print the records that match every filter given."""
    if (missing := _missing(args.files)) is not None:
        return missing
    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    selector = RecordFilter(
        principal=args.principal, tool=args.tool, verb=args.verb, decision=args.decision, rule=args.rule,
        namespace=args.namespace, event=args.event, request_id=args.request_id,
        approval_id=args.approval_id, since=since, until=until,
    )  # fmt: skip
    skipped: list[Line] = []
    matches = (record for record in iter_records(args.files, skipped) if selector.matches(record))
    _emit(matches, as_json=args.json)
    _warn_skipped(skipped)
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    """Print the last N records, then (with -f) new ones as they are written, until interrupted."""
    if (missing := _missing([args.file])) is not None:
        return missing
    records = [r for r in (parse_record(line) for line in iter_tail_lines(args.file, args.lines)) if r]
    _emit(records, as_json=args.json, fixed=args.follow)
    if not args.follow:
        return 0
    try:
        for record in follow(args.file):
            _emit([record], as_json=args.json, header=False, fixed=True)
    except KeyboardInterrupt:
        pass
    return 0


def follow(
    path: Path, *, poll: float = POLL_SECONDS, stop: Callable[[], bool] = lambda: False
) -> Iterator[dict[str, Any]]:
    """Yield records appended to `path` from now on; reopen the file when it is rotated."""
    handle = path.open("rb")
    handle.seek(0, 2)
    inode = os.fstat(handle.fileno()).st_ino
    pending = b""
    try:
        while not stop():
            chunk = handle.read()
            if chunk:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    record = parse_record(line)
                    if record is not None:
                        yield record
                continue
            try:
                rotated = path.stat().st_ino != inode
            except FileNotFoundError:
                rotated = False  # between the rename and the new file: wait for it
            if rotated:
                # Whatever reached the old file between the last read and the rename is read first.
                *complete, _ = (pending + handle.read()).split(b"\n")
                yield from (r for r in map(parse_record, complete) if r is not None)
                handle.close()
                handle = path.open("rb")
                inode = os.fstat(handle.fileno()).st_ino
                pending = b""
                continue
            time.sleep(poll)
    finally:
        handle.close()


def cmd_stats(args: argparse.Namespace) -> int:
    """Counts of decisions (one per request) by outcome, rule, principal and tool, and completions."""
    if (missing := _missing(args.files)) is not None:
        return missing
    counters: dict[str, Counter[str]] = {
        name: Counter() for name in ("decision", "rule", "principal", "tool")
    }
    totals: Counter[str] = Counter()
    skipped: list[Line] = []
    for record in iter_records(args.files, skipped):
        totals["records"] += 1
        if record.get("event") == "completion":
            totals["completions"] += 1
            totals["nonzero_exit"] += record.get("exit_code") not in (0, None)
            totals["timed_out"] += bool(record.get("timed_out"))
            continue
        if record.get("event") in ("approved", "denied", "expired", "consumed"):
            totals["approval_acts"] += 1  # an act on a request counted at its approval_requested
            continue
        # An `event: refusals` record stands for `count` refused requests (audit/refusals.py).
        weight = record.get("count") if record.get("event") == "refusals" else 1
        weight = weight if isinstance(weight, int) and not isinstance(weight, bool) and weight > 0 else 1
        totals["requests"] += weight
        for name, counter in counters.items():
            counter[str(record.get(name) or "-")] += weight
    if args.json:
        print(
            json.dumps({"totals": dict(totals), **{k: dict(v) for k, v in counters.items()}}, sort_keys=True)
        )
    else:
        print("  ".join(f"{name}={totals[name]}" for name in ("records", "requests", "completions")))
        print(f"nonzero_exit={totals['nonzero_exit']}  timed_out={totals['timed_out']}")
        for name, counter in counters.items():
            print(f"\nby {name}:")
            for key, count in sorted(counter.items(), key=lambda item: (-item[1], item[0])):
                print(f"  {count:>8}  {safe_text(key)}")
    _warn_skipped(skipped)
    return 0


def _emit(
    records: Iterator[dict[str, Any]] | list[dict[str, Any]],
    *,
    as_json: bool,
    header: bool = True,
    fixed: bool = False,
) -> None:
    if as_json:
        for record in records:
            print(json.dumps(record, sort_keys=True, separators=(",", ":")))
        return
    lines = render_table(records, min_widths=FOLLOW_WIDTHS if fixed else None)
    for line in lines if header else lines[1:]:
        print(line)


def _missing(paths: list[Path]) -> int | None:
    for path in paths:
        if not path.is_file():
            print(f"error: {safe_text(path)}: no such file", file=sys.stderr)
            return 2
    return None


def _warn_skipped(skipped: list[Line]) -> None:
    if skipped:
        first = skipped[0]
        print(
            f"warning: skipped {len(skipped)} line(s) that are not JSON records, first at "
            f"{safe_text(first.path)}:{first.number}; run `audit verify`",
            file=sys.stderr,
        )
