"""Token buckets in the shared database: every replica takes from the same bucket of a principal.

The time is the database's clock (PostgreSQL: `clock_timestamp()`), so pods whose clocks differ
still refill one bucket at one rate. A take is one transaction with the bucket's row locked.
"""

from __future__ import annotations

import threading

from k8s_mcp_server.state.db import Database

# Idle buckets are full again after capacity/refill seconds; rows idle that long are deleted every
# PRUNE_EVERY takes, so the table holds recent callers only.
PRUNE_EVERY = 1000


class SharedBuckets:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._takes = 0
        self._count_lock = threading.Lock()

    def take(self, key: str, capacity: float, refill_per_second: float) -> float:
        """Take one token from `key`'s bucket: 0.0 when granted, else the seconds until one is there.

        Raises StateUnavailable when the database cannot be used (the caller refuses the request).
        """
        with self.db.transaction() as cur:
            now = self.db.now(cur)
            cur.execute(
                "INSERT INTO rate_buckets (key, tokens, updated_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (key) DO NOTHING",
                (key, capacity, now),
            )
            cur.execute(
                "SELECT tokens, updated_at FROM rate_buckets WHERE key = %s" + self.db.for_update(),  # noqa: S608 - a constant suffix
                (key,),
            )
            row = cur.one()
            tokens, at = (float(row[0]), float(row[1])) if row else (capacity, now)
            tokens = min(capacity, tokens + max(0.0, now - at) * refill_per_second)
            granted = tokens >= 1.0
            if granted:
                tokens -= 1.0
            cur.execute(
                "UPDATE rate_buckets SET tokens = %s, updated_at = %s WHERE key = %s", (tokens, now, key)
            )
            if self._due_for_pruning():
                cur.execute(
                    "DELETE FROM rate_buckets WHERE updated_at < %s", (now - capacity / refill_per_second,)
                )
        return 0.0 if granted else (1.0 - tokens) / refill_per_second

    def _due_for_pruning(self) -> bool:
        with self._count_lock:
            self._takes += 1
            return self._takes % PRUNE_EVERY == 0
