"""Rate and concurrency limits, counted in this process (per replica); no I/O, no HTTP.

``RateLimiter`` is a token bucket per key; ``ConcurrencyLimiter`` hands out ``Slot`` objects
up to a limit per key. Both answer a refusal with ``RetryAfter`` instead of raising, so each
caller (the HTTP edge, background jobs) decides what a refusal means for it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from types import TracebackType

__all__ = ["ConcurrencyLimiter", "RateLimiter", "RetryAfter", "Slot", "TokenBucket"]


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """A refusal: the caller may try again in ``seconds`` (at least 1)."""

    seconds: int


class TokenBucket:
    """``burst`` tokens, refilled at ``per_minute`` a minute; each request takes one."""

    __slots__ = ("burst", "per_minute", "tokens", "updated_s")

    def __init__(self, *, per_minute: int, burst: int, now_s: float) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("per_minute and burst must be positive")
        self.per_minute = per_minute
        self.burst = burst
        self.tokens = float(burst)
        self.updated_s = now_s

    def take(self, now_s: float) -> RetryAfter | None:
        """Take one token, or say how long until one is there."""
        rate_per_s = self.per_minute / 60.0
        elapsed_s = max(0.0, now_s - self.updated_s)
        self.tokens = min(float(self.burst), self.tokens + elapsed_s * rate_per_s)
        self.updated_s = now_s
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return RetryAfter(max(1, math.ceil((1.0 - self.tokens) / rate_per_s)))


class RateLimiter:
    """One token bucket per key, created on first use.

    ``clock`` is injectable for tests. Buckets are never dropped: keys come from configuration,
    so there are only as many as there are configured keys.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[Hashable, TokenBucket] = {}

    def try_acquire(self, key: Hashable, *, per_minute: int, burst: int) -> RetryAfter | None:
        """Count one request for ``key``: None if allowed, else when to retry."""
        now_s = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None or (bucket.per_minute, bucket.burst) != (per_minute, burst):
            bucket = self._buckets[key] = TokenBucket(
                per_minute=per_minute, burst=burst, now_s=now_s
            )
        return bucket.take(now_s)


class Slot:
    """A place taken in a ``ConcurrencyLimiter``; ``release()`` it (or use ``with``).

    Releasing twice is harmless, so every exit path may release without bookkeeping.
    """

    __slots__ = ("_release",)

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    @property
    def released(self) -> bool:
        return self._release is None

    def release(self) -> None:
        """Give the place back (once; later calls do nothing)."""
        release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    @staticmethod
    def joined(*slots: Slot) -> Slot:
        """One slot that releases all of ``slots``."""

        def release_all() -> None:
            for slot in slots:
                slot.release()

        return Slot(release_all)


class ConcurrencyLimiter:
    """Counts what runs per key; ``try_acquire`` refuses beyond the key's limit.

    Synchronous on purpose: acquiring and releasing happen on the event loop thread, with no
    await in between that could let two callers take the last place.
    """

    def __init__(self, *, retry_after_s: int = 1) -> None:
        #: What a refusal suggests: the limiter cannot know when a running export will end.
        self.retry_after_s = retry_after_s
        self._running: dict[Hashable, int] = {}

    def in_use(self, key: Hashable) -> int:
        """How many slots ``key`` holds now."""
        return self._running.get(key, 0)

    def try_acquire(self, key: Hashable, limit: int) -> Slot | RetryAfter:
        """A slot for ``key`` if it holds fewer than ``limit``, else when to retry."""
        running = self._running.get(key, 0)
        if running >= limit:
            return RetryAfter(self.retry_after_s)
        self._running[key] = running + 1
        return Slot(lambda: self._release(key))

    def _release(self, key: Hashable) -> None:
        remaining = self._running[key] - 1
        if remaining:
            self._running[key] = remaining
        else:
            del self._running[key]
