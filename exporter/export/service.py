"""The export service core: the pool, the described catalog, and running one export.

Knows nothing of HTTP; the API and the CLI both drive exports through it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import anyio

from exporter.access.keys import ApiKey
from exporter.access.limits import ConcurrencyLimiter, RetryAfter, Slot
from exporter.catalog.definitions import Catalog, ExportDefinition, load_catalog
from exporter.catalog.params import Bounds, ExportRequest, bind_request
from exporter.catalog.shaping import Shape, shaped_export
from exporter.db.connections import (
    Pool,
    PoolLedger,
    create_pool,
    pool_settings,
    probe_database,
    transaction_settings,
)
from exporter.db.describe import describe_catalog
from exporter.db.snapshot import SessionLimits, open_copy, open_rows
from exporter.db.watermarks import read_horizon
from exporter.encoders import Format, TextColumnsEncoder
from exporter.encoders.copy_text import TextColumns
from exporter.encoders.csv import UTF8_BOM
from exporter.encoders.memory import choose_memory_pool
from exporter.errors import ConfigError, ServerBusy, TooManyConcurrentExports
from exporter.export.pipeline import OutputCaps, StreamStats, encode_batches
from exporter.export.plans import copy_plan
from exporter.export.pumps import Pump, pump_chunks, pump_copy, pump_copy_columns
from exporter.export.watermarks import (
    Watermark,
    next_watermark,
    read_token,
    row_conditions,
    write_token,
)
from exporter.settings import Settings

#: PostgreSQL's idle-in-transaction timeout is a backstop that fires only if the service itself
#: stops driving the export (hung, partitioned): the service's own client write timeout always
#: acts first, so a slow but live reader is governed by that setting alone.
IDLE_IN_TRANSACTION_MARGIN_S = 30.0


@dataclass(slots=True)
class ExportService:
    """A running exporter: settings, connection pool and the described catalog."""

    settings: Settings
    #: Exports read here: the standby's pool with EXPORTER_READ_DATABASE_URL, else the primary's.
    pool: Pool
    catalog: Catalog
    encode_limiter: anyio.CapacityLimiter
    #: DATABASE_URL's pool when exports read from a standby (``pool_for``); else None.
    primary_pool: Pool | None = None
    #: Exports running on this replica, in total and per API key (``take_export_slot``).
    replica_exports: ConcurrencyLimiter = field(default_factory=ConcurrencyLimiter)
    key_exports: ConcurrencyLimiter = field(default_factory=ConcurrencyLimiter)
    pool_ledger: PoolLedger = field(default_factory=PoolLedger)
    #: Signs watermark tokens: EXPORTER_WATERMARK_SECRET, else random for this process.
    watermark_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @classmethod
    async def start(cls, settings: Settings) -> ExportService:
        """Parse the catalog, connect, and describe every export; fail loudly on any problem.

        With ``EXPORTER_READ_DATABASE_URL`` exports read from that standby, and a second pool
        on ``DATABASE_URL`` (the primary) describes the catalog (a standby cannot create the
        temporary table that reveals ``numeric(p,s)``; it holds the same catalog) and runs
        incremental pulls (see ``pool_for``).
        """
        if not settings.database_url:
            raise ConfigError("DATABASE_URL", "no database to export from")
        parsed = load_catalog(settings.sql_dir)
        choose_memory_pool()
        startup = pool_settings(
            timezone=settings.timezone, application_name=settings.application_name
        )
        sizes = {"min_size": settings.pool_min_size, "max_size": settings.pool_max_size}
        read_dsn = settings.read_database_url or settings.database_url
        pool = await create_pool(read_dsn, server_settings=startup, **sizes)
        primary_pool: Pool | None = None
        try:
            if settings.read_database_url:
                sizes["min_size"] = 0  # incremental pulls only: opened when one comes
                primary_pool = await create_pool(
                    settings.database_url, server_settings=startup, **sizes
                )
            described = await describe_catalog(primary_pool or pool, list(parsed.values()))
        except BaseException:
            for opened in (pool, primary_pool):
                if opened is not None:
                    await opened.close()
            raise
        service = cls(
            settings=settings,
            pool=pool,
            primary_pool=primary_pool,
            catalog=Catalog(described),
            encode_limiter=anyio.CapacityLimiter(settings.encode_threads),
        )
        if settings.watermark_secret:
            service.watermark_key = settings.watermark_secret.encode()
        return service

    async def close(self, timeout_s: float = 10.0) -> None:
        """Close the pools; connections not back within ``timeout_s`` are terminated."""
        for pool in (self.pool, self.primary_pool):
            if pool is None:
                continue
            try:
                await asyncio.wait_for(pool.close(), timeout_s)
            except TimeoutError:
                pool.terminate()

    def pool_for(self, export: ExportDefinition) -> Pool:
        """The pool ``export`` reads from: the standby's, if there is one, except for an
        incremental pull.

        An incremental pull decides its upper bound from the transactions still open where
        rows are written (the primary's ``pg_stat_activity``), then must read every row up to
        it: a standby replaying behind would leave out rows that the next pull then skips.
        So it reads from the primary, both its bound and its rows.
        """
        if export.watermark_column is not None and self.primary_pool is not None:
            return self.primary_pool
        return self.pool

    def pool_stats(self) -> dict[str, int]:
        """Connections: open, idle, checked out, lost and the maximum; exports waiting for one.

        ``in_use`` and ``lost`` come from the ledger of checkouts, not from asyncpg's counts of
        connected holders, so a connection that was never given back still shows.
        """
        ledger = self.pool_ledger
        return {"size": self.pool.get_size(), "idle": self.pool.get_idle_size(),
                "in_use": ledger.in_use, "lost": ledger.lost,
                "max": self.pool.get_max_size(), "waiting": ledger.waiting}  # fmt: skip

    async def check_database(self, timeout_s: float = 2.0) -> str | None:
        """None if PostgreSQL answers a fresh connection within ``timeout_s``, else why not.

        Uses its own connection, not the pool's: readiness must not wait behind busy exports.
        """
        dsn = self.settings.read_dsn
        assert dsn is not None
        return await probe_database(
            dsn,
            application_name=self.settings.application_name + "-probe",
            timeout_s=timeout_s,
        )

    @property
    def bounds(self) -> Bounds:
        s = self.settings
        return Bounds(
            fetch_rows_default=s.fetch_rows,
            fetch_rows_min=s.fetch_rows_min,
            fetch_rows_max=s.fetch_rows_max,
            chunk_bytes_default=s.chunk_bytes,
            chunk_bytes_max=s.chunk_bytes_max,
            limit_max=s.limit_max,
            param_value_max_bytes=s.param_value_max_bytes,
        )

    def session_limits(
        self, export: ExportDefinition, *, whole_statement: bool = False
    ) -> SessionLimits:
        """The time limits ``export`` runs under (its own statement_timeout, if it sets one).

        ``whole_statement``: the export is one statement (COPY), not cursor round trips, so the
        per-round-trip setting does not apply; the export's own statement_timeout, else the
        maximum export duration, bounds it.
        """
        s = self.settings
        statement_timeout_s = export.statement_timeout_s
        if statement_timeout_s is None:
            statement_timeout_s = (
                s.max_export_duration_s if whole_statement else s.statement_timeout_s
            )
        return SessionLimits(
            acquire_timeout_s=s.pool_acquire_timeout_s,
            statement_timeout_s=statement_timeout_s,
            idle_in_transaction_timeout_s=s.client_write_timeout_s + IDLE_IN_TRANSACTION_MARGIN_S,
            settings=tuple(transaction_settings(timezone=s.timezone).items()),
        )

    def take_export_slot(self, api_key: ApiKey | None) -> Slot:
        """A place for one more export on this replica, counted for ``api_key`` too (None: no
        key, authentication off). Release it when the export ends, however it ends.

        Raises ``TooManyConcurrentExports`` when the key runs its limit already, ``ServerBusy``
        when the replica does. Counting is per process: N replicas allow N times as many.
        """
        key_slot: Slot | None = None
        if api_key is not None:
            taken = self.key_exports.try_acquire(api_key.key_id, api_key.concurrent_exports)
            if isinstance(taken, RetryAfter):
                raise TooManyConcurrentExports(
                    api_key.key_id, api_key.concurrent_exports, taken.seconds
                )
            key_slot = taken
        limit = self.settings.replica_export_limit
        replica_slot = self.replica_exports.try_acquire(None, limit)
        if isinstance(replica_slot, RetryAfter):
            if key_slot is not None:
                key_slot.release()
            raise ServerBusy(limit, replica_slot.seconds)
        return replica_slot if key_slot is None else Slot.joined(replica_slot, key_slot)

    def bind(self, export_name: str, items: Iterable[tuple[str, str]]) -> ExportRequest:
        """Look up ``export_name`` and validate the request items against it (an ``after=``
        token too: a forged or foreign one is refused here, before anything runs)."""
        request = bind_request(self.catalog.get_export(export_name), items, self.bounds)
        if request.after is not None:
            read_token(request.after, request.export, self.watermark_key)
        return request

    async def incremental_shape(self, request: ExportRequest) -> tuple[Shape, str | None]:
        """The request's shape with an incremental pull's bounds, and the pull's token.

        An export without a watermark: the request's shape as it is, and no token.
        """
        export, column = request.export, request.export.watermark_column
        if column is None:
            return request.shape, None
        previous = (
            Watermark(export.name, None)
            if request.after is None
            else read_token(request.after, export, self.watermark_key)
        )
        horizon = await read_horizon(
            self.pool_for(export),
            export,
            request.values,
            candidate_taken_at=None if previous.candidate is None else previous.candidate.taken_at,
            own_application_name=self.settings.application_name,
            acquire_timeout_s=self.settings.pool_acquire_timeout_s,
            ledger=self.pool_ledger,
        )
        bound = next_watermark(column, previous, horizon)
        shape = request.shape.with_conditions(*row_conditions(column, previous, bound))
        return shape, write_token(bound, self.watermark_key)

    @asynccontextmanager
    async def open_stream(
        self, request: ExportRequest, output: Format, stats: StreamStats
    ) -> AsyncIterator[Pump]:
        """Start ``request``: everything cheap that can fail happens before this yields.

        Yields a pump: ``await pump(write)`` produces the whole output into ``write`` (one
        chunk at a time, each awaited). The connection is released when the block exits.

        CSV comes straight from PostgreSQL's COPY (identical bytes, no per-row Python); NDJSON,
        Arrow and Parquet parse COPY's text format into columns, when the export's columns allow it
        (``exporter.export.plans``). The request setting ``fetch_rows`` asks for the cursor path,
        and so does an export that declares ``max_rows``: COPY reports its row count only at
        the end, the cursor after each batch. Output past the export's
        ``max_rows``/``max_bytes`` raises ``ExportCapExceeded`` before the chunk that crosses
        the cap is written.
        """
        shape, stats.watermark = await self.incremental_shape(request)
        export, values = shaped_export(request.export, shape, request.values)
        caps = OutputCaps(export.name, max_rows=export.max_rows, max_bytes=export.max_bytes)
        # Built only where one is used: CSV from COPY needs none.
        csv = request.csv
        new_encoder = partial(
            output.create_encoder,
            export.columns,
            parquet_row_group_rows=self.settings.parquet_row_group_rows,
            csv_delimiter=csv.delimiter,
            csv_header=csv.header,
            csv_bom=csv.bom,
            parquet_row_group_bytes=self.settings.parquet_row_group_bytes,
        )
        use_cursor = request.fetch_rows_given or export.max_rows is not None
        plan = None if use_cursor else copy_plan(output.name, export.columns, csv)
        if plan is not None:
            async with open_copy(
                self.pool_for(export),
                export,
                values,
                select=plan.select,
                options=plan.options,
                limits=self.session_limits(export, whole_statement=True),
                ledger=self.pool_ledger,
            ) as copy:
                if not plan.parse_columns:
                    preamble = UTF8_BOM if csv.bom else b""
                    yield partial(
                        pump_copy, copy, request.chunk_bytes, stats, caps=caps, preamble=preamble
                    )
                    return
                columns_encoder = new_encoder()
                assert isinstance(columns_encoder, TextColumnsEncoder), output.name
                yield partial(
                    pump_copy_columns,
                    copy,
                    columns_encoder,
                    TextColumns(len(export.columns)),
                    block_bytes=self.settings.copy_block_bytes,
                    chunk_bytes=request.chunk_bytes,
                    stats=stats,
                    caps=caps,
                    limiter=self.encode_limiter,
                )
            return
        async with open_rows(
            self.pool_for(export),
            export,
            values,
            fetch_rows=request.fetch_rows,
            first_fetch_rows=self.settings.first_fetch_rows,
            limits=self.session_limits(export),
            ledger=self.pool_ledger,
        ) as rows:
            chunks = encode_batches(
                rows,
                new_encoder(),
                chunk_bytes=request.chunk_bytes,
                stats=stats,
                encode_limiter=self.encode_limiter,
            )
            try:
                yield partial(pump_chunks, chunks, stats=stats, caps=caps)
            finally:
                await chunks.aclose()
