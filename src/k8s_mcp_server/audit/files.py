"""File helpers for the audit log: rotated file names, rotation, and reading the tail of a file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# audit.jsonl.1 .. audit.jsonl.10; past that the oldest is deleted on the next rotation, but only once
# its records were verified and anchored or shipped (log.py): until then rotated files accumulate.
KEEP_ROTATED = 10
_CHUNK = 64 * 1024


def rotated_path(path: Path, index: int) -> Path:
    """`audit.jsonl.<index>`; index 1 is the newest rotated file."""
    return path.with_name(f"{path.name}.{index}")


def rotated_files(path: Path) -> list[Path]:
    """The rotated files that exist (`path.N`, any N), newest (.1) first."""
    prefix = path.name + "."
    indexes = sorted(
        int(entry.name[len(prefix) :])
        for entry in path.parent.glob(f"{path.name}.*")
        if entry.name[len(prefix) :].isdigit()
    )
    return [rotated_path(path, index) for index in indexes]


def chain_files(path: Path) -> list[Path]:
    """Every existing file of a rotated set, oldest first, ending with `path` itself if it exists."""
    files = list(reversed(rotated_files(path)))
    if path.exists():
        files.append(path)
    return files


def rotate(path: Path, *, fsync: bool = True) -> None:
    """Shift every audit.jsonl.N -> .N+1 (oldest first, so nothing is overwritten) and rename the live
    file to .1. Deleting old files is the writer's decision (log.py), never this function's."""
    for source in reversed(rotated_files(path)):
        index = int(source.name.rsplit(".", 1)[1])
        source.rename(rotated_path(path, index + 1))
    if path.exists():
        path.rename(rotated_path(path, 1))
    if fsync:
        fsync_directory(path.parent)


def count_lines(path: Path) -> int:
    """Complete lines in `path`, read in chunks up to its size at the start (0 if it is not a regular
    file: a log pointed at a device such as /dev/full must not be read forever)."""
    if not path.is_file():
        return 0
    count = 0
    with path.open("rb") as handle:
        left = os.fstat(handle.fileno()).st_size
        while left > 0 and (chunk := handle.read(min(left, 1024 * 1024))):
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count


def read_head(path: Path, limit: int = 1024 * 1024) -> bytes | None:
    """The first complete line of `path` (without newline), or None."""
    with path.open("rb") as handle:
        line = handle.readline(limit)
    return line[:-1] if line.endswith(b"\n") else None


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
