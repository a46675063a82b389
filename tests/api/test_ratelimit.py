"""The per-principal token bucket."""

from __future__ import annotations

import pytest

from k8s_mcp_server.api.ratelimit import MAX_BUCKETS, RateLimited, RateLimiter, bucket_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_principal_gets_a_burst_of_the_per_minute_rate_then_429_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)
    for _ in range(6):
        limiter.check("a")
    with pytest.raises(RateLimited) as info:
        limiter.check("a")
    assert info.value.code == "rate_limited" and info.value.status == 429
    assert info.value.retry_after == 10  # one token per 10 s at 6/min


def test_tokens_come_back_at_the_configured_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    for _ in range(60):
        limiter.check("a")
    with pytest.raises(RateLimited):
        limiter.check("a")
    clock.now += 1.0
    limiter.check("a")
    with pytest.raises(RateLimited):
        limiter.check("a")


def test_refused_requests_do_not_extend_the_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(1, clock=clock)
    limiter.check("a")
    for _ in range(5):
        with pytest.raises(RateLimited):
            limiter.check("a")
    clock.now += 60
    limiter.check("a")


def test_principals_have_separate_buckets() -> None:
    limiter = RateLimiter(1, clock=Clock())
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(RateLimited):
        limiter.check("a")


def test_zero_means_off() -> None:
    limiter = RateLimiter(0, clock=Clock())
    for _ in range(1000):
        limiter.check("a")


def test_anonymous_callers_are_one_principal_per_source_address_and_cannot_pose_as_a_key() -> None:
    assert bucket_key("anonymous", "127.0.0.1", anonymous=True) != bucket_key(
        "anonymous", "::1", anonymous=True
    )
    assert bucket_key("x", "127.0.0.1", anonymous=False) == bucket_key("x", "::1", anonymous=False)
    assert bucket_key("anonymous", "127.0.0.1", anonymous=True) != bucket_key(
        "anonymous@127.0.0.1", None, anonymous=False
    )


def test_the_number_of_buckets_is_bounded() -> None:
    limiter = RateLimiter(5, clock=Clock())
    for i in range(MAX_BUCKETS + 50):
        limiter.check(f"p{i}")
    assert len(limiter._buckets) == MAX_BUCKETS
