"""How COPY output is gathered into HTTP chunks, or into blocks parsed into Arrow columns (the
pumps, with a stand-in for the COPY)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pyarrow as pa
import pytest

from exporter.columns import Column, ValueKind
from exporter.encoders.arrow import ArrowStreamEncoder
from exporter.encoders.copy_text import TextColumns
from exporter.errors import CopyOutputInvalid, ExportCapExceeded
from exporter.export.gather import COPY_HOLD_S
from exporter.export.pipeline import OutputCaps, StreamStats
from exporter.export.pumps import pump_copy, pump_copy_columns


@dataclass
class FakeCopy:
    pieces: list[bytes]
    rows: int = 4242

    async def run(self, sink: Callable[[bytes], Awaitable[None]]) -> int:
        for piece in self.pieces:
            await sink(piece)
        return self.rows


async def pump(
    pieces: list[bytes],
    chunk_bytes: int,
    caps: OutputCaps | None = None,
    hold_s: float = COPY_HOLD_S,
) -> tuple[list[bytes], StreamStats]:
    written: list[bytes] = []
    stats = StreamStats()

    async def write(chunk: bytes) -> None:
        written.append(chunk)

    copy: Any = FakeCopy(pieces)
    await pump_copy(copy, chunk_bytes, stats, write, caps=caps, hold_s=hold_s)
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


async def test_pieces_that_waited_too_long_go_out() -> None:
    pieces = [b"a\n", b"b\n", b"c\n"]
    written, _ = await pump(pieces, chunk_bytes=1 << 20, hold_s=0.0)
    assert written == pieces


async def test_a_chunk_that_would_cross_max_bytes_is_not_written() -> None:
    pieces = [b"h\n"] + [b"x" * 999 + b"\n"] * 100
    caps = OutputCaps("t", max_bytes=50_000)
    written: list[bytes] = []

    async def write(chunk: bytes) -> None:
        written.append(chunk)

    copy: Any = FakeCopy(pieces)
    with pytest.raises(ExportCapExceeded):
        await pump_copy(copy, 10_000, StreamStats(), write, caps=caps)
    assert 40_000 < sum(map(len, written)) <= 50_000
    _, stats = await pump(pieces[:40], chunk_bytes=10_000, caps=caps)
    assert stats.complete and stats.bytes == 2 + 39 * 1000


# -- Arrow from COPY's text: pieces gathered into blocks, parsed and encoded ------------------

TEXT_COLUMNS = [
    Column(name="a", sql_type="text", pg_type="text", kind=ValueKind.TEXT),
    Column(name="n", sql_type="bigint", pg_type="int8", kind=ValueKind.INT64),
]
ROWS = [(f'row "{i}",\n\t\\' if i % 3 else "", str(i)) for i in range(500)]


def copy_text(rows: list[tuple[str, str]]) -> list[bytes]:
    """One piece per row, as PostgreSQL sends them (one CopyData message per row)."""
    return [f"{escape(text)}\t{n}\n".encode() for text, n in rows]


def escape(text: str) -> str:
    """COPY's text escaping of the characters these rows hold."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


async def pump_columns(
    pieces: list[bytes],
    *,
    block_bytes: int,
    rows: int | None = None,
    caps: OutputCaps | None = None,
    written: list[bytes] | None = None,
) -> tuple[list[bytes], StreamStats]:
    written = [] if written is None else written
    stats = StreamStats()

    async def write(chunk: bytes) -> None:
        written.append(chunk)

    copy: Any = FakeCopy(pieces, len(pieces) if rows is None else rows)
    await pump_copy_columns(
        copy,
        ArrowStreamEncoder(TEXT_COLUMNS),
        TextColumns(len(TEXT_COLUMNS)),
        write,
        block_bytes=block_bytes,
        chunk_bytes=1 << 20,
        stats=stats,
        caps=caps or OutputCaps("t"),
        limiter=anyio.CapacityLimiter(1),
    )
    return written, stats


@pytest.mark.parametrize("group", [1, 7, 500])
async def test_pieces_of_any_size_give_the_same_table(group: int) -> None:
    rows = copy_text(ROWS)
    pieces = [b"".join(rows[i : i + group]) for i in range(0, len(rows), group)]
    written, stats = await pump_columns(pieces, block_bytes=1000, rows=len(ROWS))
    table = pa.ipc.open_stream(b"".join(written)).read_all()
    assert table.column("a").to_pylist() == [text for text, _ in ROWS]
    assert table.column("n").to_pylist() == list(range(500))
    assert stats.rows == 500 and stats.complete


async def test_first_piece_alone_then_blocks_of_block_bytes() -> None:
    pieces = copy_text(ROWS)
    written, _ = await pump_columns(pieces, block_bytes=2000)
    sizes = [batch.num_rows for batch in pa.ipc.open_stream(b"".join(written))]
    assert sizes[0] == 1
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    block_sizes = [sum(map(len, pieces[s : s + n])) for s, n in zip(starts, sizes, strict=True)]
    longest = max(map(len, pieces))
    assert all(2000 <= size < 2000 + longest for size in block_sizes[1:-1]), block_sizes


async def test_a_piece_cut_mid_row_aborts() -> None:
    with pytest.raises(CopyOutputInvalid, match="whole row"):
        await pump_columns([b'"a",1\n"b', b'",2\n'], block_bytes=1000)


async def test_a_row_count_that_disagrees_with_postgresql_aborts() -> None:
    with pytest.raises(CopyOutputInvalid, match="PostgreSQL sent 3 rows, 2 were parsed"):
        await pump_columns(copy_text(ROWS[:2]), block_bytes=1000, rows=3)


async def test_a_block_that_would_cross_max_bytes_is_not_written() -> None:
    written: list[bytes] = []
    with pytest.raises(ExportCapExceeded):
        await pump_columns(
            copy_text(ROWS), block_bytes=1000, caps=OutputCaps("t", max_bytes=5000), written=written
        )
    assert 0 < sum(map(len, written)) <= 5000
