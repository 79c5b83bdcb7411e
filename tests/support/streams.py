"""Helpers for tests that run exports through the service without HTTP."""

from __future__ import annotations

from exporter.catalog.params import ExportRequest
from exporter.encoders import get_format
from exporter.export.pipeline import StreamStats
from exporter.export.service import ExportService


async def stream_into(
    service: ExportService, request: ExportRequest, fmt: str, out: bytearray, stats: StreamStats
) -> None:
    """Run ``request`` in format ``fmt``, appending its output to ``out`` as it comes (what
    was written before a failure stays in ``out``)."""

    async def write(chunk: bytes) -> None:
        out.extend(chunk)

    async with service.open_stream(request, get_format(fmt), stats) as pump:
        await pump(write)


async def export_bytes(
    service: ExportService, export: str, fmt: str, items: list[tuple[str, str]] | None = None
) -> bytes:
    """The complete output of ``export`` in format ``fmt``."""
    stats = StreamStats()
    out = bytearray()
    await stream_into(service, service.bind(export, items or []), fmt, out, stats)
    assert stats.complete
    return bytes(out)
