"""Pumps: an opened export's whole output, produced into a writer one awaited chunk at a time.

Three ways an export's bytes are made: encoded cursor batches (``pump_chunks``), COPY's own
bytes passed through (``pump_copy``: CSV), and COPY's text parsed into columns and encoded
(``pump_copy_columns``: NDJSON, Arrow, Parquet). Each awaits ``write`` for every chunk, inside
the database read where there is one: nothing is read ahead of what the client accepted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from anyio import to_thread

from exporter.db.snapshot import CopyOut
from exporter.encoders import TextColumnsEncoder
from exporter.encoders.copy_text import TextColumns
from exporter.errors import CopyOutputInvalid
from exporter.export.gather import COPY_HOLD_S, Gatherer
from exporter.export.pipeline import OutputCaps, StreamStats, split_chunks

#: Where a pump puts its chunks; awaiting it is the backpressure.
Write = Callable[[bytes], Awaitable[None]]
#: Produces an export's whole output into the given writer.
Pump = Callable[[Write], Awaitable[None]]


async def pump_chunks(
    chunks: AsyncIterator[bytes], write: Write, *, stats: StreamStats, caps: OutputCaps
) -> None:
    """Encoded cursor batches (``encode_batches``) into ``write``, caps checked per chunk."""
    async for chunk in chunks:
        caps.check(stats)  # the counts already include this chunk
        await write(chunk)


async def pump_copy(
    copy: CopyOut,
    chunk_bytes: int,
    stats: StreamStats,
    write: Write,
    *,
    caps: OutputCaps | None = None,
    hold_s: float = COPY_HOLD_S,
    preamble: bytes = b"",
) -> None:
    """COPY's bytes into ``write`` as they are, in chunks of about ``chunk_bytes`` (gathered by
    ``Gatherer``: the first piece alone, then by size or by how long a piece has waited).

    ``preamble`` (CSV's byte order mark) goes out before them, in the first chunk.
    """
    gatherer = Gatherer(target_bytes=chunk_bytes, hold_s=hold_s)
    if preamble:
        gatherer.push(preamble)  # taken with the first piece (or alone, if COPY sends none)

    async def flush() -> None:
        if not gatherer.size:
            return
        with gatherer.take() as unit:
            chunk = bytes(unit)
        if caps is not None:
            caps.check_bytes(stats.bytes + len(chunk))
        stats.bytes += len(chunk)
        await write(chunk)

    async def sink(data: bytes) -> None:
        stats.rows += data.count(b"\n")  # lines so far; the exact row count comes at the end
        if gatherer.push(data):
            await flush()

    rows = await copy.run(sink)
    await flush()
    stats.rows = rows
    stats.complete = True


async def pump_copy_columns(
    copy: CopyOut,
    encoder: TextColumnsEncoder,
    parser: TextColumns,
    write: Write,
    *,
    block_bytes: int,
    chunk_bytes: int,
    stats: StreamStats,
    caps: OutputCaps,
    limiter: anyio.CapacityLimiter,
    hold_s: float = COPY_HOLD_S,
) -> None:
    """COPY's text parsed into string columns and encoded (NDJSON, Arrow, Parquet), into
    ``write``.

    COPY's pieces (whole rows each, see ``exporter.encoders.copy_text``) are gathered into
    blocks of about ``block_bytes`` (``Gatherer``). Each block is parsed and encoded in a worker
    thread (``limiter`` caps how many exports do so at once) while asyncpg awaits this sink: it
    reads nothing more from PostgreSQL until the block's bytes are written (backpressure, no
    task or queue in between), so one export holds at most a block and its encoding (and for
    Parquet one row group).
    """
    gatherer = Gatherer(target_bytes=block_bytes, hold_s=hold_s)

    async def send(data: bytes) -> None:
        for chunk in split_chunks(data, chunk_bytes):
            stats.bytes += len(chunk)
            caps.check(stats)  # the counts already include this chunk
            await write(chunk)

    def encode(block: memoryview) -> tuple[bytes, int]:
        strings = parser.parse(block)
        return encoder.encode_text(strings), len(strings[0])

    async def flush() -> None:
        if not gatherer.size:
            return
        with gatherer.take() as block:
            encoded, rows = await to_thread.run_sync(encode, block, limiter=limiter)
        stats.rows += rows
        await send(encoded)

    async def sink(data: bytes) -> None:
        if not data.endswith(b"\n"):
            raise CopyOutputInvalid("a piece of COPY output does not end with a whole row")
        if gatherer.push(data):
            await flush()

    await send(encoder.start())
    rows = await copy.run(sink)
    await flush()
    if rows != stats.rows:
        raise CopyOutputInvalid(f"PostgreSQL sent {rows} rows, {stats.rows} were parsed")
    await send(await to_thread.run_sync(encoder.finish, limiter=limiter))
    stats.complete = True
