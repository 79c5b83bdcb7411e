"""The export service core: the pool, the described catalog, and running one export.

Knows nothing of HTTP; the API and the CLI both drive exports through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from exporter.catalog import Catalog, load_catalog
from exporter.db import create_pool, open_rows, session_settings
from exporter.describe import describe_catalog
from exporter.encoders import Format
from exporter.errors import ConfigError
from exporter.params import Bounds, ExportRequest, bind_request
from exporter.pipeline import StreamStats, encode_batches
from exporter.settings import Settings

#: How long a request waits for a free connection before it is told to come back later.
ACQUIRE_TIMEOUT_S = 5.0


@dataclass(slots=True)
class ExportService:
    """A running exporter: settings, connection pool and the described catalog."""

    settings: Settings
    pool: asyncpg.Pool
    catalog: Catalog

    @classmethod
    async def start(cls, settings: Settings) -> ExportService:
        """Parse the catalog, connect, and describe every export; fail loudly on any problem."""
        if not settings.database_url:
            raise ConfigError("DATABASE_URL", "no database to export from")
        parsed = load_catalog(settings.sql_dir)
        pool = await create_pool(
            settings.database_url,
            server_settings=session_settings(
                timezone=settings.timezone, application_name=settings.application_name
            ),
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
        )
        try:
            async with pool.acquire() as conn:
                described = await describe_catalog(conn, list(parsed.values()))
        except BaseException:
            await pool.close()
            raise
        return cls(settings=settings, pool=pool, catalog=Catalog(described))

    async def close(self) -> None:
        """Close the pool (waits for released connections)."""
        await self.pool.close()

    @property
    def bounds(self) -> Bounds:
        s = self.settings
        return Bounds(
            fetch_rows_default=s.fetch_rows,
            fetch_rows_max=s.fetch_rows_max,
            chunk_bytes_default=s.chunk_bytes,
            chunk_bytes_max=s.chunk_bytes_max,
        )

    def bind(self, export_name: str, items: Iterable[tuple[str, str]]) -> ExportRequest:
        """Look up ``export_name`` and validate the request items against it."""
        return bind_request(self.catalog.get_export(export_name), items, self.bounds)

    @asynccontextmanager
    async def open_stream(
        self, request: ExportRequest, output: Format, stats: StreamStats
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Start ``request``: everything cheap that can fail happens before this yields.

        Yields the output's byte chunks; the connection is released when the block exits.
        """
        export = request.export
        encoder = output.create_encoder(
            export.columns, parquet_row_group_rows=self.settings.parquet_row_group_rows
        )
        async with open_rows(
            self.pool,
            export,
            request.values,
            fetch_rows=request.fetch_rows,
            acquire_timeout_s=ACQUIRE_TIMEOUT_S,
        ) as rows:
            chunks = encode_batches(rows, encoder, chunk_bytes=request.chunk_bytes, stats=stats)
            try:
                yield chunks
            finally:
                await chunks.aclose()
