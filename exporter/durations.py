"""Durations as people write them in settings and SQL headers: ``500ms``, ``30s``, ``5min``."""

from __future__ import annotations

import re

_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|sec|min|m|h)?\s*")
_SECONDS_PER_UNIT = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0,
                     "h": 3600.0}  # fmt: skip


def parse_duration_s(text: str) -> float:
    """Seconds in ``text`` (a bare number is seconds); ``ValueError`` if it is not a duration."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"not a duration (e.g. 500ms, 30s, 5min, 2h): {text!r}")
    return float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)]
