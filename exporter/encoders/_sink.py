"""A write-only file object that hands back what was written since the last drain."""

from __future__ import annotations

import io
from typing import Any


class DrainableSink(io.RawIOBase):
    """Collects writes from Arrow's writers so an encoder can return them as bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._pieces: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        piece = bytes(data)
        self._pieces.append(piece)
        self._position += len(piece)
        return len(piece)

    def tell(self) -> int:
        return self._position

    def drain(self) -> bytes:
        """Everything written since the previous drain."""
        data = b"".join(self._pieces)
        self._pieces.clear()
        return data
