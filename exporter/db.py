"""The database boundary: the pool, connection set-up, and one export's rows as batches.

Every connection decodes values as PostgreSQL's own *text* output (and binds parameters as
text). That is what makes CSV byte-identical to ``COPY ... CSV`` and NDJSON exact (numeric and
bigint digits are never routed through floats), at no cost: decoding text is a UTF-8 decode.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import asyncpg

from exporter.catalog import ExportDefinition, copy_param_setting
from exporter.errors import DatabaseUnavailable, QueryFailed

log = logging.getLogger(__name__)

#: Built-in types asyncpg would decode from binary into Python objects; we read their text.
#: Types not listed (text, varchar, enums, ...) already arrive as text. Domains follow their
#: base type; arrays of these types follow their element type.
TEXT_DECODED_TYPES = (
    "bool", "int2", "int4", "int8", "oid", "float4", "float8", "numeric", "money",
    "date", "time", "timetz", "timestamp", "timestamptz", "interval",
    "uuid", "json", "jsonb", "jsonpath", "bytea", "xml",
    "inet", "cidr", "macaddr", "macaddr8", "bit", "varbit",
    "point", "line", "lseg", "box", "path", "polygon", "circle",
    "tid", "xid", "xid8", "cid", "pg_lsn", "txid_snapshot", "pg_snapshot",
    "tsvector", "tsquery",
)  # fmt: skip

#: How long releasing a connection (ROLLBACK, reset) may take before it is terminated instead.
RELEASE_TIMEOUT_S = 5.0


def session_settings(*, timezone: str, application_name: str) -> dict[str, str]:
    """Session settings that fix how values print, whatever the server's own defaults are."""
    return {
        "application_name": application_name,
        "TimeZone": timezone,
        "DateStyle": "ISO, MDY",
        "IntervalStyle": "postgres",
        # 1 is PostgreSQL's default since 12: shortest exact float output. Pinned, not assumed.
        "extra_float_digits": "1",
        "bytea_output": "hex",
        "client_encoding": "UTF8",
        # A backend otherwise notices a vanished client (the service killed, a network
        # partition) only when its next write fails, which a slow query may not do for
        # minutes. PostgreSQL 14+ checks the socket at this interval while a query runs.
        "client_connection_check_interval": "1s",
    }


async def init_connection(conn: asyncpg.Connection) -> None:
    """Make ``conn`` exchange every built-in scalar type as text (see the module docstring)."""
    for type_name in TEXT_DECODED_TYPES:
        await conn.set_builtin_type_codec(
            type_name, schema="pg_catalog", codec_name="text", format="text"
        )


class _ExpectedResetFilter(logging.Filter):
    """Drops asyncpg's "Resetting connection with an active transaction" error line.

    asyncpg reports it through the event loop's exception handler whenever a connection goes
    back to the pool inside a transaction. After a cancelled export (the client left) that is
    the designed path: ``release_connection`` leaves the rollback to the pool's reset, which
    waits for the cancelled query and rolls back. An ERROR line per disconnect would be noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Resetting connection with an active transaction")


def _quiet_expected_resets() -> None:
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, _ExpectedResetFilter) for f in asyncio_log.filters):
        asyncio_log.addFilter(_ExpectedResetFilter())


async def create_pool(
    dsn: str,
    *,
    server_settings: Mapping[str, str],
    min_size: int,
    max_size: int,
) -> asyncpg.Pool:
    """An asyncpg pool whose connections are set up by ``init_connection``."""
    _quiet_expected_resets()
    try:
        pool: asyncpg.Pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings=dict(server_settings),
            init=init_connection,
            # Statements are prepared per export request; a cache would only hold them longer.
            statement_cache_size=0,
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    return pool


async def connect(dsn: str, *, server_settings: Mapping[str, str]) -> asyncpg.Connection:
    """One connection set up like the pool's (for the CLI and tests)."""
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn, server_settings=dict(server_settings), statement_cache_size=0
    )
    await init_connection(conn)
    return conn


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionLimits:
    """Time limits applied to one export's transaction."""

    #: Wait for a free pooled connection at most this long.
    acquire_timeout_s: float
    #: PostgreSQL statement_timeout: bounds each cursor round trip (0: none).
    statement_timeout_s: float
    #: PostgreSQL idle_in_transaction_session_timeout: how long the session may sit between
    #: round trips (the service waiting on a slow client) before PostgreSQL ends it (0: none).
    idle_in_transaction_timeout_s: float


@dataclass(slots=True)
class AcquireWaits:
    """How many exports are waiting for a pooled connection right now.

    asyncpg's pool does not say; the exports count themselves in and out around ``acquire``.
    """

    count: int = 0


_SET_LIMITS = (
    "SELECT set_config('statement_timeout', $1, true),"
    " set_config('idle_in_transaction_session_timeout', $2, true)"
)


@dataclass(slots=True)
class RowBatches:
    """An open export: pull batches of rows with ``async for batch in rows``.

    The first round trip asks for at most ``first_fetch_rows``: the first bytes then leave as
    soon as PostgreSQL has a few rows, instead of after a whole ``fetch_rows`` batch has been
    fetched and encoded. Every later round trip asks for ``fetch_rows``.
    """

    cursor: Any
    fetch_rows: int
    first_fetch_rows: int

    def __aiter__(self) -> AsyncIterator[Sequence[Any]]:
        return self._batches()

    async def _batches(self) -> AsyncIterator[Sequence[Any]]:
        want = min(self.first_fetch_rows, self.fetch_rows)
        while True:
            batch = await self.cursor.fetch(want)
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
    waits: AcquireWaits | None = None,
) -> AsyncIterator[RowBatches]:
    """Run ``export`` with ``values`` through a server-side cursor (see ``_open_snapshot``)."""
    async with _open_snapshot(pool, export, values, limits, waits) as (_, cursor):
        yield RowBatches(cursor=cursor, fetch_rows=fetch_rows, first_fetch_rows=first_fetch_rows)


@dataclass(slots=True)
class CopyOut:
    """An export ready to run as ``COPY (query) TO STDOUT``; ``run(sink)`` streams it."""

    conn: asyncpg.Connection
    query: str
    options: Mapping[str, str | bool]

    async def run(self, sink: Callable[[bytes], Awaitable[None]]) -> int:
        """Stream the COPY output into ``sink``; returns the row count PostgreSQL reports.

        The sink is awaited for each piece, inside this call: asyncpg stops reading from the
        server until it returns (backpressure), and if it raises or is cancelled the COPY is
        cancelled on the server. No task or queue stands in between.
        """
        status: str = await self.conn.copy_from_query(self.query, output=sink, **self.options)
        return int(status.rsplit(" ", 1)[-1])


@asynccontextmanager
async def open_copy(
    pool: asyncpg.Pool,
    export: ExportDefinition,
    values: Sequence[str],
    *,
    select: str,
    options: Mapping[str, str | bool],
    limits: SessionLimits,
    waits: AcquireWaits | None = None,
) -> AsyncIterator[CopyOut]:
    """Run ``export`` with ``values`` as a COPY (see ``_open_snapshot``).

    ``select`` wraps the export's query, given as ``{query}`` (``SELECT to_json(q) FROM
    ({query}) q``). COPY takes no bind parameters, so each value is bound into a
    transaction-local setting that the query reads back (``copy_sql``): values are still never
    spliced into SQL text.
    """
    async with _open_snapshot(pool, export, values, limits, waits) as (conn, _):
        if values:
            settings = ", ".join(
                f"set_config('{copy_param_setting(n)}', ${n}, true)"
                for n in range(1, len(values) + 1)
            )
            await conn.fetchval(f"SELECT {settings}", *values)
        yield CopyOut(conn=conn, query=select.format(query=export.copy_sql), options=options)


@asynccontextmanager
async def _open_snapshot(
    pool: asyncpg.Pool,
    export: ExportDefinition,
    values: Sequence[str],
    limits: SessionLimits,
    waits: AcquireWaits | None = None,
) -> AsyncIterator[tuple[asyncpg.Connection, Any]]:
    """A connection in a read-only REPEATABLE READ snapshot with the export bound to ``values``.

    Everything that can fail cheaply happens before this yields: acquiring a connection,
    PREPARE, and binding the values (an unexecuted cursor). The connection is released
    (transaction rolled back) when the block exits, however it exits, including by
    cancellation.
    """
    for attempt in (1, 2):
        conn = await _acquire(pool, limits.acquire_timeout_s, waits or AcquireWaits())
        transaction = conn.transaction(isolation="repeatable_read", readonly=True)
        try:
            cursor = await _start(conn, transaction, export, values, limits)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await release_connection(pool, conn, transaction)
            if attempt == 1 and is_connection_failure(exc):
                # A pooled connection that died while idle (server restart, network blip):
                # one fresh connection decides whether the database is really gone.
                log.warning("pooled connection was dead (%s); retrying on a new one", exc)
                continue
            if is_connection_failure(exc):
                raise DatabaseUnavailable(f"lost the database connection: {exc}") from exc
            sqlstate = getattr(exc, "sqlstate", None)
            raise QueryFailed(export.name, _describe_error(exc), sqlstate=sqlstate) from exc
        except BaseException:
            await release_connection(pool, conn, transaction)
            raise
        break
    try:
        yield conn, cursor
    finally:
        await release_connection(pool, conn, transaction)


async def _start(
    conn: asyncpg.Connection,
    transaction: Any,
    export: ExportDefinition,
    values: Sequence[str],
    limits: SessionLimits,
) -> Any:
    """BEGIN, set the limits, PREPARE and bind: returns the open cursor."""
    await transaction.start()
    await conn.fetchval(
        _SET_LIMITS,
        _milliseconds(limits.statement_timeout_s),
        _milliseconds(limits.idle_in_transaction_timeout_s),
    )
    statement = await conn.prepare(export.sql)
    return await statement.cursor(*values)


def is_connection_failure(exc: BaseException) -> bool:
    """True for errors that mean the connection or the server is gone, not the query."""
    if isinstance(exc, OSError | asyncpg.InterfaceError):
        return True
    sqlstate = getattr(exc, "sqlstate", None) or ""
    # 08: connection exception; 57P01-57P05: admin/crash shutdown, cannot connect now, ...
    return sqlstate.startswith(("08", "57P"))


async def _acquire(pool: asyncpg.Pool, timeout_s: float, waits: AcquireWaits) -> asyncpg.Connection:
    waits.count += 1
    try:
        conn: asyncpg.Connection = await pool.acquire(timeout=timeout_s)
    except TimeoutError as exc:
        raise DatabaseUnavailable(
            f"no database connection became free within {timeout_s:g} s", pool_exhausted=True
        ) from exc
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    finally:
        waits.count -= 1
    return conn


async def release_connection(
    pool: asyncpg.Pool, conn: asyncpg.Connection, transaction: Any = None
) -> None:
    """Roll back and give ``conn`` back to the pool, also from a cancelled task.

    The shield keeps a pending cancellation (client gone) from cutting this short and leaking
    the connection. A connection that was interrupted mid-query (the cancelled case) skips the
    ROLLBACK: asyncpg's release waits for the server to acknowledge the cancel, resets the
    session (which rolls back) and terminates the connection if that fails or stalls.
    """
    with anyio.CancelScope(shield=True):
        try:
            closed = conn.is_closed()
        except asyncpg.InterfaceError:
            # Already detached from the pool: the pool was terminated under it (shutdown after
            # the grace period). Nothing is left to give back.
            return
        if transaction is not None and not closed and not _is_busy(conn):
            try:
                with anyio.fail_after(RELEASE_TIMEOUT_S):
                    await transaction.rollback()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("rollback failed (%s); terminating the connection", exc)
                with contextlib.suppress(asyncpg.InterfaceError):
                    # Raises if asyncpg already handed a lost connection back to the pool.
                    conn.terminate()
        try:
            # Terminates the connection itself if resetting it fails or stalls.
            await pool.release(conn, timeout=RELEASE_TIMEOUT_S)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("a broken connection was dropped from the pool (%s)", exc)


def _milliseconds(seconds: float) -> str:
    return str(max(0, round(seconds * 1000)))


def _is_busy(conn: asyncpg.Connection) -> bool:
    """True while a cancelled query is still being wound down on ``conn``.

    asyncpg exposes no public flag for this; if its private one ever goes away, answer "busy":
    the ROLLBACK is then skipped and the pool's own reset on release rolls back instead.
    """
    protocol = getattr(conn, "_protocol", None)
    is_cancelling = getattr(protocol, "_is_cancelling", None)
    if protocol is None or is_cancelling is None:
        return True
    return bool(protocol.is_in_transaction() and is_cancelling())


def _describe_error(exc: BaseException) -> str:
    detail = getattr(exc, "detail", None)
    message = str(exc) if not detail else f"{exc} ({detail})"
    return message
