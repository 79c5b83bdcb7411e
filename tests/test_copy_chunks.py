"""How COPY output is gathered into HTTP chunks (the pump, with a stand-in for the COPY)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from exporter import service as service_module
from exporter.errors import ExportCapExceeded
from exporter.pipeline import OutputCaps, StreamStats


@dataclass
class FakeCopy:
    pieces: list[bytes]

    async def run(self, sink: Callable[[bytes], Awaitable[None]]) -> int:
        for piece in self.pieces:
            await sink(piece)
        return 4242


async def pump(
    pieces: list[bytes], chunk_bytes: int, caps: OutputCaps | None = None
) -> tuple[list[bytes], StreamStats]:
    written: list[bytes] = []
    stats = StreamStats()

    async def write(chunk: bytes) -> None:
        written.append(chunk)

    copy: Any = FakeCopy(pieces)
    await service_module._pump_copy(copy, chunk_bytes, stats, write, caps=caps)
    return written, stats


async def test_first_piece_at_once_then_gathered_to_chunk_bytes() -> None:
    pieces = [b"h\n"] + [b"x" * 999 + b"\n"] * 100
    written, stats = await pump(pieces, chunk_bytes=10_000)
    assert written[0] == b"h\n"
    assert all(len(chunk) >= 10_000 for chunk in written[1:-1])
    assert b"".join(written) == b"".join(pieces)
    assert stats.bytes == sum(map(len, pieces))
    assert stats.rows == 4242  # PostgreSQL's count, not the lines seen
    assert stats.complete


async def test_pieces_that_waited_too_long_go_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "COPY_HOLD_S", 0.0)
    pieces = [b"a\n", b"b\n", b"c\n"]
    written, _ = await pump(pieces, chunk_bytes=1 << 20)
    assert written == pieces


async def test_a_chunk_that_would_cross_max_bytes_is_not_written() -> None:
    pieces = [b"h\n"] + [b"x" * 999 + b"\n"] * 100
    caps = OutputCaps("t", max_bytes=50_000)
    written: list[bytes] = []

    async def write(chunk: bytes) -> None:
        written.append(chunk)

    copy: Any = FakeCopy(pieces)
    with pytest.raises(ExportCapExceeded):
        await service_module._pump_copy(copy, 10_000, StreamStats(), write, caps=caps)
    assert 40_000 < sum(map(len, written)) <= 50_000
    _, stats = await pump(pieces[:40], chunk_bytes=10_000, caps=caps)
    assert stats.complete and stats.bytes == 2 + 39 * 1000
