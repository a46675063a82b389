"""File helpers for the audit log: rotated file names, rotation, and reading the tail of a file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

KEEP_ROTATED = 10  # audit.jsonl.1 .. audit.jsonl.10; the oldest is dropped on the next rotation
_CHUNK = 64 * 1024


def rotated_path(path: Path, index: int) -> Path:
    """`audit.jsonl.<index>`; index 1 is the newest rotated file."""
    return path.with_name(f"{path.name}.{index}")


def chain_files(path: Path, keep: int = KEEP_ROTATED) -> list[Path]:
    """Every existing file of a rotated set, oldest first, ending with `path` itself if it exists."""
    files = [rotated_path(path, i) for i in range(keep, 0, -1) if rotated_path(path, i).exists()]
    if path.exists():
        files.append(path)
    return files


def rotate(path: Path, keep: int = KEEP_ROTATED, *, fsync: bool = True) -> None:
    """Shift audit.jsonl.N -> .N+1 (dropping .keep) and rename the live file to .1."""
    oldest = rotated_path(path, keep)
    if oldest.exists():
        oldest.unlink()
    for index in range(keep - 1, 0, -1):
        source = rotated_path(path, index)
        if source.exists():
            source.rename(rotated_path(path, index + 1))
    if path.exists():
        path.rename(rotated_path(path, 1))
    if fsync:
        fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make renames and new files in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, kw_only=True)
class Tail:
    """The end of a file: its last complete line (without newline) and any torn bytes after it."""

    last_line: bytes | None
    torn: bytes  # bytes after the last newline: an interrupted write
    complete_end: int  # offset just past the last newline (0 if there is none)


def read_tail(path: Path) -> Tail:
    """Read backwards from the end until the last complete line is found; never reads the whole file."""
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        buffer = b""
        position = end
        while position > 0:
            step = min(_CHUNK, position)
            position -= step
            handle.seek(position)
            buffer = handle.read(step) + buffer
            if buffer.count(b"\n") >= 2 or (position == 0 and b"\n" in buffer):
                break
    last_newline = buffer.rfind(b"\n")
    if last_newline < 0:
        return Tail(last_line=None, torn=buffer, complete_end=0)
    torn = buffer[last_newline + 1 :]
    previous_newline = buffer.rfind(b"\n", 0, last_newline)
    last_line = buffer[previous_newline + 1 : last_newline]
    return Tail(last_line=last_line, torn=torn, complete_end=end - len(torn))


def iter_tail_lines(path: Path, count: int) -> list[bytes]:
    """The last `count` complete lines of `path` (a torn final line is left out)."""
    if count <= 0:
        return []
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        buffer = b""
        position = end
        while position > 0 and buffer.count(b"\n") <= count:
            step = min(_CHUNK, position)
            position -= step
            handle.seek(position)
            buffer = handle.read(step) + buffer
    lines = buffer.split(b"\n")
    lines.pop()  # the part after the last newline: empty or torn
    if position > 0:
        lines = lines[1:]  # the first piece may be the cut-off end of an earlier line
    return [line for line in lines[-count:] if line]
