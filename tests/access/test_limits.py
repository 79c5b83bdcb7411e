"""The rate and concurrency limiters, with an injected clock: no sleeping, exact numbers."""

from __future__ import annotations

import pytest

from exporter.access.limits import ConcurrencyLimiter, RateLimiter, RetryAfter, Slot, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def test_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)

    def take() -> RetryAfter | None:
        return limiter.try_acquire("k", per_minute=60, burst=3)

    assert [take(), take(), take()] == [None, None, None]
    assert take() == RetryAfter(1)  # one token a second
    clock.now_s += 0.5
    assert take() == RetryAfter(1)  # half a token: rounds up, never 0
    clock.now_s += 0.5
    assert take() is None
    clock.now_s += 3600  # refills only up to the burst
    assert [take(), take(), take(), take()] == [None, None, None, RetryAfter(1)]


def test_retry_after_is_computed_from_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    assert limiter.try_acquire("k", per_minute=6, burst=1) is None
    assert limiter.try_acquire("k", per_minute=6, burst=1) == RetryAfter(10)
    clock.now_s += 7.5
    assert limiter.try_acquire("k", per_minute=6, burst=1) == RetryAfter(3)  # ceil(2.5)
    clock.now_s += 2.5
    assert limiter.try_acquire("k", per_minute=6, burst=1) is None


def test_refused_requests_do_not_consume_tokens() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    assert limiter.try_acquire("k", per_minute=60, burst=1) is None
    for _ in range(100):  # hammering while refused does not push the retry further out
        assert limiter.try_acquire("k", per_minute=60, burst=1) == RetryAfter(1)
    clock.now_s += 1
    assert limiter.try_acquire("k", per_minute=60, burst=1) is None


def test_keys_have_their_own_buckets() -> None:
    limiter = RateLimiter(clock=FakeClock())
    assert limiter.try_acquire("a", per_minute=60, burst=1) is None
    assert limiter.try_acquire("a", per_minute=60, burst=1) == RetryAfter(1)
    assert limiter.try_acquire("b", per_minute=60, burst=1) is None


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(per_minute=0, burst=1, now_s=0)


def test_concurrency_limit_per_key_and_release_on_exit() -> None:
    limiter = ConcurrencyLimiter(retry_after_s=2)
    first = limiter.try_acquire("k", 2)
    second = limiter.try_acquire("k", 2)
    assert isinstance(first, Slot) and isinstance(second, Slot)
    assert limiter.try_acquire("k", 2) == RetryAfter(2)
    assert isinstance(limiter.try_acquire("other", 2), Slot)
    with first:
        pass
    assert first.released and limiter.in_use("k") == 1
    first.release()  # a second release gives nothing back twice
    assert limiter.in_use("k") == 1
    third = limiter.try_acquire("k", 2)
    assert isinstance(third, Slot)
    with pytest.raises(RuntimeError), third:
        raise RuntimeError("the export failed")
    assert limiter.in_use("k") == 1
    second.release()
    assert limiter.in_use("k") == 0


def test_joined_slot_releases_every_part() -> None:
    limiter = ConcurrencyLimiter()
    a, b = limiter.try_acquire("a", 1), limiter.try_acquire("b", 1)
    assert isinstance(a, Slot) and isinstance(b, Slot)
    Slot.joined(a, b).release()
    assert (limiter.in_use("a"), limiter.in_use("b")) == (0, 0)
