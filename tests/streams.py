"""Helpers for tests that run exports through the service without HTTP."""

from __future__ import annotations

from exporter.encoders import get_format
from exporter.pipeline import StreamStats
from exporter.service import ExportService


async def export_bytes(
    service: ExportService, export: str, fmt: str, items: list[tuple[str, str]] | None = None
) -> bytes:
    """The complete output of ``export`` in format ``fmt``."""
    request = service.bind(export, items or [])
    stats = StreamStats()
    out = bytearray()

    async def write(chunk: bytes) -> None:
        out.extend(chunk)

    async with service.open_stream(request, get_format(fmt), stats) as pump:
        await pump(write)
    assert stats.complete
    return bytes(out)
