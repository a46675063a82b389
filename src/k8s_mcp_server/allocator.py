"""Keep large outputs from pinning memory in the heap.

glibc serves big allocations with mmap and gives them back on free, but after each such free it
raises its mmap threshold (up to 32 MB), so the next 20 MB output string comes from the heap and
stays there, fragmented. Measured with 50 concurrent 20 MB outputs: 592 MB peak RSS (524 MB held
afterwards) with the default, 253 MB (121 MB afterwards) with a fixed 128 KiB threshold and two
malloc arenas (bench/bench_executor.py). Other C libraries (musl) have no mallopt: nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # <malloc.h>: a fixed value also turns the dynamic adjustment off
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 128 * 1024
ARENA_MAX = 2  # redaction of large outputs runs in worker threads; each thread would get an arena


def tune_allocator() -> bool:
    """Apply the settings above to this process; False where the C library does not support them."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and mallopt(M_ARENA_MAX, ARENA_MAX) == 1)
