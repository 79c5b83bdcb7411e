"""Durations and byte sizes as people write them in settings and SQL headers.

``500ms``, ``30s``, ``5min``; ``2GB``, ``512MB``, ``100kB``.
"""

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


_SIZE = re.compile(r"\s*([0-9][0-9_]*)\s*([kKMGT]i?B|B)?\s*")
#: As in postgresql.conf: 1 kB is 1024 bytes (the ``KiB`` spellings say the same).
_BYTES_PER_UNIT = {
    None: 1, "B": 1,
    "kB": 1024, "KB": 1024, "KiB": 1024,
    "MB": 1024**2, "MiB": 1024**2,
    "GB": 1024**3, "GiB": 1024**3,
    "TB": 1024**4, "TiB": 1024**4,
}  # fmt: skip


def parse_size_bytes(text: str) -> int:
    """Bytes in ``text`` (a bare number is bytes); ``ValueError`` if it is not a size."""
    match = _SIZE.fullmatch(text)
    if match is None or match.group(2) not in _BYTES_PER_UNIT:
        raise ValueError(f"not a size (e.g. 1048576, 512kB, 100MB, 2GB): {text!r}")
    return int(match.group(1).replace("_", "")) * _BYTES_PER_UNIT[match.group(2)]
