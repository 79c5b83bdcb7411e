"""Batches of rows -> encoder -> byte chunks, with the counts a caller reports."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from dataclasses import dataclass

from anyio import CapacityLimiter, to_thread

from exporter.columns import Row
from exporter.encoders import Encoder
from exporter.errors import ExportCapExceeded


@dataclass(slots=True)
class StreamStats:
    """What has gone out so far; updated as chunks are produced."""

    rows: int = 0
    bytes: int = 0
    complete: bool = False
    #: An incremental export's Exporter-Watermark token, set before the first byte.
    watermark: str | None = None


@dataclass(frozen=True, slots=True)
class OutputCaps:
    """An export's declared ``max_rows`` / ``max_bytes`` (None: no cap)."""

    export: str
    max_rows: int | None = None
    max_bytes: int | None = None

    def check(self, stats: StreamStats) -> None:
        """Raise ``ExportCapExceeded`` if ``stats`` (counted before the bytes go out) are past
        a cap, so the chunk that would cross it is never written."""
        if self.max_rows is not None and stats.rows > self.max_rows:
            raise ExportCapExceeded(self.export, "max_rows", self.max_rows)
        self.check_bytes(stats.bytes)

    def check_bytes(self, total_bytes: int) -> None:
        """Raise ``ExportCapExceeded`` if ``total_bytes`` is past ``max_bytes``."""
        if self.max_bytes is not None and total_bytes > self.max_bytes:
            raise ExportCapExceeded(self.export, "max_bytes", self.max_bytes)


async def encode_batches(
    batches: AsyncIterable[Sequence[Row]],
    encoder: Encoder,
    *,
    chunk_bytes: int,
    stats: StreamStats,
    encode_limiter: CapacityLimiter | None = None,
) -> AsyncGenerator[bytes, None]:
    """Yield the encoded output: the preamble at once, then one or more chunks per batch.

    Encoding runs in a worker thread, so a large batch does not stall the event loop; while it
    runs, the loop keeps serving other requests. ``encode_limiter`` caps how many exports encode
    at once: encoding is CPU-bound Python, and every extra thread competing for the GIL delays
    the event loop's next turn by up to one switch interval (5 ms). A batch encoding to more
    than ``chunk_bytes`` goes out as several chunks. ``stats.complete`` is set only after the
    closing bytes.
    """
    preamble = encoder.start()
    if preamble:
        stats.bytes += len(preamble)
        yield preamble
    async for batch in batches:
        encoded = await to_thread.run_sync(encoder.encode, batch, limiter=encode_limiter)
        stats.rows += len(batch)
        for chunk in split_chunks(encoded, chunk_bytes):
            stats.bytes += len(chunk)
            yield chunk
    for chunk in split_chunks(encoder.finish(), chunk_bytes):
        stats.bytes += len(chunk)
        yield chunk
    stats.complete = True


def split_chunks(data: bytes, chunk_bytes: int) -> list[bytes]:
    """``data`` cut into pieces of at most ``chunk_bytes`` (none for empty data)."""
    if len(data) <= chunk_bytes:
        return [data] if data else []
    view = memoryview(data)
    return [bytes(view[i : i + chunk_bytes]) for i in range(0, len(data), chunk_bytes)]
