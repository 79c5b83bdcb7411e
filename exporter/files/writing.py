"""Run an export into a writer (a file or a stream), compressed or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio

from exporter.catalog.params import ExportRequest
from exporter.compression import Codec
from exporter.encoders import Format
from exporter.export.pipeline import StreamStats
from exporter.export.service import ExportService
from exporter.files.atomic import NEW_FILE_MODE, AtomicFile, open_atomic

Write = Callable[[bytes], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FileResult:
    """A published export file."""

    path: Path
    rows: int
    size_bytes: int
    sha256: str


async def export_into(
    service: ExportService,
    request: ExportRequest,
    output: Format,
    write: Write,
    *,
    codec: Codec | None,
    stats: StreamStats,
) -> None:
    """Produce the whole export into ``write``, through ``codec`` when one is given.

    Raises whatever stops the export (ExporterError before the first row, database or
    encoding errors after it); ``stats.complete`` is True only when everything was written.
    """
    async with service.open_stream(request, output, stats) as pump:
        if codec is None:
            await pump(write)
            return
        compressor = codec.create()

        async def compressed(chunk: bytes) -> None:
            # A 256 KiB chunk takes milliseconds to compress: off the event loop.
            out = await anyio.to_thread.run_sync(compressor.compress, chunk)
            if out:
                await write(out)

        await pump(compressed)
        await write(compressor.finish())


async def export_to_file(
    service: ExportService,
    request: ExportRequest,
    output: Format,
    path: Path,
    *,
    codec: Codec | None,
    stats: StreamStats,
    on_open: Callable[[AtomicFile], None] | None = None,
    mode: int = NEW_FILE_MODE,
) -> FileResult:
    """Write the export to ``path`` atomically; nothing appears at ``path`` unless it completes.

    ``on_open`` receives the open file (its ``size_bytes`` grows as it is written), for
    progress reports. A new file gets ``mode``; a replaced one keeps its mode and owner.
    """
    async with open_atomic(path, mode=mode) as file:
        if on_open is not None:
            on_open(file)
        await export_into(service, request, output, file.write, codec=codec, stats=stats)
        if not stats.complete:
            raise RuntimeError("export ended without completing")  # never publish a partial
    return FileResult(path=path, rows=stats.rows, size_bytes=file.size_bytes, sha256=file.sha256)
