"""One export's snapshot: a read-only REPEATABLE READ transaction, bound, then read through a
server-side cursor (``open_rows``) or ``COPY ... TO STDOUT`` (``open_copy``).

Everything that can fail cheaply happens before these yield (a connection, BEGIN, PREPARE,
binding); what the driver raises is translated into the exporter's errors on the way out
(``exporter.db.failures``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from exporter.catalog.definitions import ExportDefinition, copy_param_setting
from exporter.db.connections import PoolLedger, acquire, release_connection
from exporter.db.failures import (
    DRIVER_ERRORS,
    Phase,
    is_connection_failure,
    translate_errors,
    translated,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionLimits:
    """What one export's transaction runs under: its time limits, and the settings set for
    it alone (``connections.transaction_settings``)."""

    #: Wait for a free pooled connection at most this long.
    acquire_timeout_s: float
    #: PostgreSQL statement_timeout: bounds each cursor round trip (0: none).
    statement_timeout_s: float
    #: PostgreSQL idle_in_transaction_session_timeout: how long the session may sit between
    #: round trips (the service waiting on a slow client) before PostgreSQL ends it (0: none).
    idle_in_transaction_timeout_s: float
    #: Settings (name, value) that hold for the transaction alone: how values print.
    settings: tuple[tuple[str, str], ...] = ()

    def transaction_settings(self) -> list[tuple[str, str]]:
        """Every setting of the transaction, the time limits included."""
        return [
            ("statement_timeout", _milliseconds(self.statement_timeout_s)),
            (
                "idle_in_transaction_session_timeout",
                _milliseconds(self.idle_in_transaction_timeout_s),
            ),
            *self.settings,
        ]


class CopyOptions(TypedDict, total=False):
    """COPY's options, as ``Connection.copy_from_query`` takes them as keywords."""

    format: Literal["text", "csv", "binary"]
    oids: int
    delimiter: str
    null: str
    header: bool
    quote: str
    escape: str
    force_quote: bool | Sequence[str]
    encoding: str


class SnapshotClosedError(RuntimeError):
    """A cursor or COPY handle was used after its connection went back to the pool.

    A programming error, refused like asyncpg refuses a released connection's resources: the
    connection may already serve another export.
    """


@dataclass(slots=True)
class _Snapshot:
    """A checked-out connection inside the export's transaction.

    ``busy`` is set while a COPY or a cursor round trip is in flight: if the export ends while
    it is (the client left, a failure), the wire protocol is mid-operation and the connection
    must not be reused. ``released`` is set once the connection is back in the pool.
    """

    export: str
    conn: PoolConnectionProxy
    transaction: Any
    cursor: Any = None
    busy: bool = False
    released: bool = False

    def check_open(self) -> None:
        """Refuse use after release (see ``SnapshotClosedError``)."""
        if self.released:
            raise SnapshotClosedError(
                f"export {self.export!r}: its connection went back to the pool"
            )


@dataclass(slots=True)
class RowBatches:
    """An open export: pull batches of rows with ``async for batch in rows``.

    The first round trip asks for at most ``first_fetch_rows``: the first bytes then leave as
    soon as PostgreSQL has a few rows, instead of after a whole ``fetch_rows`` batch has been
    fetched and encoded. Every later round trip asks for ``fetch_rows``.
    """

    snapshot: _Snapshot
    fetch_rows: int
    first_fetch_rows: int

    def __aiter__(self) -> AsyncIterator[Sequence[Any]]:
        return self._batches()

    async def _batches(self) -> AsyncIterator[Sequence[Any]]:
        want = min(self.first_fetch_rows, self.fetch_rows)
        snapshot = self.snapshot
        while True:
            snapshot.check_open()
            snapshot.busy = True
            with translate_errors(snapshot.export, Phase.RUNNING):
                batch = await snapshot.cursor.fetch(want)
            snapshot.busy = False
            if not batch:
                return
            yield batch
            if len(batch) < want:
                return
            want = self.fetch_rows


@asynccontextmanager
async def open_rows(
    pool: asyncpg.Pool,
    export: ExportDefinition,
    values: Sequence[str],
    *,
    fetch_rows: int,
    first_fetch_rows: int,
    limits: SessionLimits,
    ledger: PoolLedger | None = None,
) -> AsyncIterator[RowBatches]:
    """Run ``export`` with ``values`` through a server-side cursor (see ``_open_snapshot``)."""
    async with _open_snapshot(pool, export, values, limits, ledger) as snapshot:
        yield RowBatches(
            snapshot=snapshot, fetch_rows=fetch_rows, first_fetch_rows=first_fetch_rows
        )


@dataclass(slots=True)
class CopyOut:
    """An export ready to run as ``COPY (query) TO STDOUT``; ``run(sink)`` streams it."""

    snapshot: _Snapshot
    query: str
    options: CopyOptions

    async def run(self, sink: Callable[[bytes], Awaitable[None]]) -> int:
        """Stream the COPY output into ``sink``; returns the row count PostgreSQL reports.

        The sink is awaited for each piece, inside this call: asyncpg stops reading from the
        server until it returns (backpressure), and if it raises or is cancelled the COPY is
        cancelled on the server. No task or queue stands in between. An error of the sink's
        own (an ``OSError`` writing a file) leaves as it is; only the database's is translated.
        """
        snapshot = self.snapshot
        snapshot.check_open()
        failed_in_sink: BaseException | None = None

        async def guarded_sink(data: bytes) -> None:
            nonlocal failed_in_sink
            try:
                await sink(data)
            except BaseException as exc:
                failed_in_sink = exc
                raise

        snapshot.busy = True
        try:
            status: str = await snapshot.conn.copy_from_query(
                self.query, output=guarded_sink, **self.options
            )
        except DRIVER_ERRORS as exc:
            if exc is failed_in_sink:
                raise  # the sink's own (a full disk), re-raised by asyncpg: not the database's
            raise translated(exc, snapshot.export, Phase.RUNNING) from exc
        snapshot.busy = False
        return int(status.rsplit(" ", 1)[-1])


@asynccontextmanager
async def open_copy(
    pool: asyncpg.Pool,
    export: ExportDefinition,
    values: Sequence[str],
    *,
    select: str,
    options: CopyOptions,
    limits: SessionLimits,
    ledger: PoolLedger | None = None,
) -> AsyncIterator[CopyOut]:
    """Run ``export`` with ``values`` as a COPY (see ``_open_snapshot``).

    ``select`` wraps the export's query, given as ``{query}`` (``SELECT to_json(q) FROM
    ({query}) q``). COPY takes no bind parameters, so each value is bound into a
    transaction-local setting that the query reads back (``copy_sql``): values are still never
    spliced into SQL text.
    """
    async with _open_snapshot(pool, export, values, limits, ledger) as snapshot:
        if values:
            settings = ", ".join(
                f"set_config('{copy_param_setting(n)}', ${n}, true)"
                for n in range(1, len(values) + 1)
            )
            with translate_errors(export.name, Phase.OPENING):
                await snapshot.conn.fetchval(f"SELECT {settings}", *values)
        yield CopyOut(
            snapshot=snapshot, query=select.format(query=export.copy_sql), options=options
        )


@asynccontextmanager
async def _open_snapshot(
    pool: asyncpg.Pool,
    export: ExportDefinition,
    values: Sequence[str],
    limits: SessionLimits,
    ledger: PoolLedger | None = None,
) -> AsyncIterator[_Snapshot]:
    """A connection in a read-only REPEATABLE READ snapshot with the export bound to ``values``.

    Everything that can fail cheaply happens before this yields: acquiring a connection,
    PREPARE, and binding the values (an unexecuted cursor). The connection is given back when
    the block exits, however it exits, including by cancellation (``release_connection``).
    """
    ledger = ledger or PoolLedger()
    for attempt in (1, 2):
        conn = await acquire(pool, limits.acquire_timeout_s, ledger)
        transaction = conn.transaction(isolation="repeatable_read", readonly=True)
        snapshot = _Snapshot(export.name, conn, transaction)
        try:
            snapshot.cursor = await _start(conn, transaction, export, values, limits)
        except DRIVER_ERRORS as exc:
            await _release(pool, snapshot, ledger)
            if attempt == 1 and is_connection_failure(exc):
                # A pooled connection that died while idle (server restart, network blip):
                # one fresh connection decides whether the database is really gone.
                log.warning("pooled connection was dead (%s); retrying on a new one", exc)
                continue
            raise translated(exc, export.name, Phase.OPENING) from exc
        except BaseException:
            await _release(pool, snapshot, ledger, interrupted=True)
            raise
        break
    try:
        yield snapshot
    except BaseException:
        await _release(pool, snapshot, ledger, interrupted=snapshot.busy)
        raise
    await _release(pool, snapshot, ledger)


async def _release(
    pool: asyncpg.Pool, snapshot: _Snapshot, ledger: PoolLedger, *, interrupted: bool = False
) -> None:
    snapshot.released = True
    await release_connection(
        pool, snapshot.conn, snapshot.transaction, ledger=ledger, interrupted=interrupted
    )


async def _start(
    conn: PoolConnectionProxy,
    transaction: Any,
    export: ExportDefinition,
    values: Sequence[str],
    limits: SessionLimits,
) -> Any:
    """BEGIN, set the transaction's settings, PREPARE and bind: returns the open cursor.

    The settings are transaction-local (``set_config(..., true)``), so they hold wherever the
    transaction runs (a pooler's server connection) and end with it. PREPARE makes an unnamed
    statement (the pool caches none): nothing outlives the transaction on the server.
    """
    await transaction.start()
    settings = limits.transaction_settings()
    calls = ", ".join(f"set_config(${2 * i + 1}, ${2 * i + 2}, true)" for i in range(len(settings)))
    await conn.fetchval(f"SELECT {calls}", *(text for pair in settings for text in pair))
    statement = await conn.prepare(export.sql)
    return await statement.cursor(*values)


def _milliseconds(seconds: float) -> str:
    return str(max(0, round(seconds * 1000)))
