"""Gathering COPY's small pieces into bigger units: when is a unit ready? (I/O-free.)

asyncpg hands over what each socket read brought (often ~8 KiB). Writing each piece as its own
HTTP chunk, or parsing each as its own Arrow batch, costs CPU per piece, so both COPY pumps
gather pieces first. The policy, in one place and testable with a fake clock: the first unit
leaves alone (time to first byte), later ones once they reach ``target_bytes`` or once their
oldest piece has waited ``hold_s`` (a query that trickles rows still shows progress when its
next piece arrives). Nothing here reads a socket or sleeps: ``push`` says "take it now", the
caller decides what taking means.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from exporter.encoders.copy_text import BlockBuffer

#: Longest a piece of COPY output waits to be gathered into a bigger unit.
COPY_HOLD_S = 0.2


@dataclass(slots=True)
class Gatherer:
    """Pieces in, units out: ``push(piece)`` answers whether to ``take()`` now."""

    target_bytes: int
    hold_s: float = COPY_HOLD_S
    clock: Callable[[], float] = time.monotonic
    #: Units taken so far.
    taken: int = 0
    _buffer: BlockBuffer = field(default_factory=BlockBuffer)
    _oldest_s: float = 0.0

    @property
    def size(self) -> int:
        """Bytes gathered and not yet taken."""
        return self._buffer.size

    def push(self, piece: bytes) -> bool:
        """Add ``piece``; True when the gathered unit should be taken now."""
        if not self._buffer.size:
            self._oldest_s = self.clock()
        self._buffer.append(piece)
        return (
            self.taken == 0
            or self._buffer.size >= self.target_bytes
            or self.clock() - self._oldest_s >= self.hold_s
        )

    @contextmanager
    def take(self) -> Iterator[memoryview]:
        """The gathered unit, without a copy, valid inside the block; empty afterwards.

        The buffer is reused from unit to unit (see ``BlockBuffer``), so nothing may ``push``
        while a taken view is in use: the COPY pumps guarantee it, since asyncpg reads nothing
        more until their sink returns.
        """
        view = self._buffer.view()
        try:
            yield view
        finally:
            view.release()
            self._buffer.clear()
            self.taken += 1
