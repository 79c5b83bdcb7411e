"""Per-key request rate at the HTTP edge: a pure ASGI middleware over ``RateLimiter``.

It runs inside ``AuthenticationMiddleware`` and counts every request that carries a key
(open paths and requests without authentication carry none). Counting is per process.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from exporter.access.keys import ApiKey
from exporter.access.limits import RateLimiter
from exporter.api.problems import response_for_error
from exporter.errors import RateLimited
from exporter.observability.metrics import ExportMetrics

log = logging.getLogger("exporter.access.limits")


class RateLimitMiddleware:
    """Answers 429 + ``Retry-After`` when the request's key has used up its token bucket."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, metrics: ExportMetrics) -> None:
        self.app = app
        self.limiter = limiter
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key: ApiKey | None = scope.get("state", {}).get("api_key")
        if scope["type"] == "http" and key is not None:
            refused = self.limiter.try_acquire(
                key.key_id, per_minute=key.requests_per_minute, burst=key.burst
            )
            if refused is not None:
                log.warning(
                    "rate limit: key %r refused %s, retry after %d s",
                    key.key_id,
                    scope["path"],
                    refused.seconds,
                    extra={"key_id": key.key_id, "path": scope["path"], "outcome": "rate_limited"},
                )
                # Refused before any route: no export label.
                self.metrics.count_outcome("", "", "rejected", "rate_limited")
                error = RateLimited(key.key_id, key.requests_per_minute, refused.seconds)
                await response_for_error(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
