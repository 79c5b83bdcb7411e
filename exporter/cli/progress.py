"""Progress on stderr: a live line on a terminal, one summary line otherwise (cron, logs)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

#: Redraw the live line this often; faster only flickers.
REDRAW_S = 0.2


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


class Progress:
    """Reports rows and bytes as they grow; ``live`` only when ``stream`` is a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.started_s = time.monotonic()
        self._drawn_s = 0.0

    def update(self, rows: int | None, size_bytes: int, *, force: bool = False) -> None:
        """Redraw the live line (at most every REDRAW_S); nothing when not a terminal."""
        now = time.monotonic()
        if not self.live or (not force and now - self._drawn_s < REDRAW_S):
            return
        self._drawn_s = now
        elapsed_s = max(now - self.started_s, 1e-9)
        parts = [self.label]
        if rows is not None:
            parts.append(f"{rows:,} rows ({rows / elapsed_s:,.0f}/s)")
        parts.append(f"{human_bytes(size_bytes)} ({human_bytes(size_bytes / elapsed_s)}/s)")
        parts.append(f"{elapsed_s:,.1f} s")
        self.stream.write("\r\x1b[K" + "  ".join(parts))
        self.stream.flush()

    def done(self, summary: str) -> None:
        """End the live line and print the one-line summary."""
        if self.live:
            self.stream.write("\r\x1b[K")
        self.stream.write(summary + "\n")
        self.stream.flush()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_s
