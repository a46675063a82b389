"""`audit split`: a stream holding the records of many chains (a fleet's pods, as a log collector
merges them) back into one file per chain, each record's line copied byte for byte in stream order,
so `audit verify --each` can check every chain and name the chain and position of what is missing.

A record names its chain in its `chain` field (K8S_MCP_AUDIT_CHAIN_ID; the chart sets the pod's
name). Lines in the container runtime's log format (`<time> stdout F <line>`, as the kubelet writes
/var/log/pods) are unwrapped, their partial (`P`) pieces joined, and stderr lines dropped; anything else
that is not a record with a chain (the server's own log lines, records written without a chain id) is
counted and skipped.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CHAIN_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # = settings.audit_chain_id
_CRI = re.compile(rb"^(\S+) (stdout|stderr) ([FP]) ?(.*)$")


@dataclass
class SplitResult:
    chains: dict[str, int] = field(default_factory=dict)  # chain -> records written
    skipped: int = 0  # lines that are not a record carrying a valid chain name
    stderr: int = 0  # container-log lines from stderr (the server's own log)


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from (line.rstrip(b"\n") for line in handle)


def _payloads(path: Path, result: SplitResult) -> Iterator[bytes]:
    """Each line, unwrapped from the container log format when it is in it (partial lines joined)."""
    partial: list[bytes] = []
    for line in _lines(path):
        match = _CRI.match(line)
        if match is None or not match[1][:1].isdigit():
            yield line
            continue
        if match[2] == b"stderr":
            result.stderr += match[3] == b"F"
            continue
        partial.append(match[4])
        if match[3] == b"F":
            yield b"".join(partial)
            partial = []
    if partial:
        yield b"".join(partial)  # a cut-off last line: verify reports it as the chain's torn end


def split_chains(sources: Sequence[Path], out: Path) -> SplitResult:
    """Write `out/<chain>.jsonl` for every chain found in `sources` (read in the order given).

    Raises FileExistsError when a chain's file is already in `out` (nothing is overwritten).
    """
    out.mkdir(parents=True, exist_ok=True)
    result = SplitResult()
    handles: dict[str, io.BufferedWriter] = {}
    files: dict[str, Path] = {}
    try:
        for source in sources:
            for payload in _payloads(source, result):
                chain = _chain_of(payload)
                if chain is None:
                    result.skipped += 1
                    continue
                if chain not in files:
                    target = out / f"{chain}.jsonl"
                    if target.exists():
                        raise FileExistsError(f"{target} exists: split into an empty folder")
                    files[chain] = target
                    handles[chain] = target.open("wb")
                handle = handles[chain]
                handle.write(payload + b"\n")
                result.chains[chain] = result.chains.get(chain, 0) + 1
    finally:
        for handle in handles.values():
            handle.close()
    return result


def _chain_of(payload: bytes) -> str | None:
    if not payload.startswith(b"{"):
        return None
    try:
        record = json.loads(payload)
    except ValueError:
        return None
    chain = record.get("chain") if isinstance(record, dict) else None
    return chain if isinstance(chain, str) and CHAIN_PATTERN.match(chain) else None
