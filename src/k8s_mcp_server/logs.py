"""The server's own log, rate-limited: a failure that repeats (`accept()` out of file descriptors,
invalid requests from a flood) is logged a few times per interval, then counted, not repeated."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

# A message may repeat this many times per interval before it is suppressed.
BURST = 5
INTERVAL_SECONDS = 60.0
# Messages told apart at most (the least recently seen is forgotten first).
MAX_KEYS = 1024
# Numbers (ports, fds, counts) do not make a message different.
_DIGITS = re.compile(r"\d+")
# The loggers whose handlers get the filter (uvicorn's do not propagate to the root logger).
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


class RepeatFilter(logging.Filter):
    """Lets `burst` records of one kind through per `interval`; the next one after the interval says
    how many were suppressed."""

    def __init__(
        self,
        *,
        burst: int = BURST,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()  # [start, count, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, "repeat_allowed", None)
        if isinstance(decided, bool):  # the same record at a second handler
            return decided
        key = (record.name, record.levelno, _DIGITS.sub("#", str(record.msg)[:200]))
        now = self._clock()
        with self._lock:
            window = self._seen.pop(key, None)
            if window is None or now - window[0] >= self.interval:
                dropped = int(window[2]) if window else 0
                window = [now, 0.0, 0.0]
                if dropped:
                    record.msg = f"{record.msg} ({dropped} more like this in the last interval not logged)"
            window[1] += 1
            allowed = window[1] <= self.burst
            if not allowed:
                window[2] += 1
            self._seen[key] = window
            while len(self._seen) > MAX_KEYS:
                self._seen.popitem(last=False)
        record.repeat_allowed = allowed
        return allowed


def install(repeat: RepeatFilter | None = None) -> RepeatFilter:
    """Put one filter on every handler the server's records reach: uvicorn's, the root logger's
    (given one if it has none, so that this server's and the libraries' records are formatted
    alike) and logging's last resort. A filter on a logger would miss its children's records."""
    repeat = repeat or RepeatFilter()
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler()
        stderr.setFormatter(logging.Formatter("%(levelname)s:%(name)s: %(message)s"))
        root.addHandler(stderr)
    handlers: set[logging.Handler] = {h for name in LOGGERS for h in logging.getLogger(name).handlers}
    if logging.lastResort is not None:
        handlers.add(logging.lastResort)
    for handler in handlers:
        if repeat not in handler.filters:
            handler.addFilter(repeat)
    return repeat
