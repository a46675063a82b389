"""Token buckets in the database: the same arithmetic as api/ratelimit.py, one bucket for every
process that shares the database."""

from __future__ import annotations

import threading

import pytest

from k8s_mcp_server.state import Database, SharedBuckets, migrate, open_database


def test_a_bucket_grants_its_capacity_then_says_how_long_to_wait(db: Database) -> None:
    buckets = SharedBuckets(db)
    refill = 1 / 60  # one a minute: nothing refills during the test
    assert [buckets.take("key:ci", 3, refill) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("key:ci", 3, refill)
    assert 0 < wait <= 60
    assert buckets.take("key:other", 3, refill) == 0.0  # buckets are per key


def test_a_bucket_refills_with_the_databases_clock(db: Database) -> None:
    buckets = SharedBuckets(db)
    assert buckets.take("k", 1, 1e6) == 0.0  # a million a second: refilled by the next call
    assert buckets.take("k", 1, 1e6) == 0.0


def migrated(url: str) -> Database:
    db = open_database(url)
    migrate(db)
    return db


def test_two_connections_share_one_bucket(pg_url: str) -> None:
    one, two = SharedBuckets(migrated(pg_url)), SharedBuckets(migrated(pg_url))
    refill = 1 / 60
    granted = [b.take("key:ci", 4, refill) == 0.0 for b in (one, two, one, two, one, two)]
    assert granted == [True, True, True, True, False, False]
    one.db.close()
    two.db.close()


@pytest.mark.parametrize("threads", [8])
def test_concurrent_takes_never_grant_more_than_the_capacity(pg_url: str, threads: int) -> None:
    """Eight connections take 5 tokens each from a bucket of 10: exactly 10 are granted (row lock)."""
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        db = migrated(pg_url)
        buckets = SharedBuckets(db)
        try:
            for _ in range(5):
                ok = buckets.take("key:flood", 10, 1 / 3600) == 0.0
                with lock:
                    granted.append(ok)
        finally:
            db.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(granted) == 40 and granted.count(True) == 10
