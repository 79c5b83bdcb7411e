"""Connections: the pool, how each connection is set up, and giving connections back.

Every connection decodes values as PostgreSQL's own *text* output (and binds parameters as
text). That is what makes CSV byte-identical to ``COPY ... CSV`` and NDJSON exact (numeric and
bigint digits are never routed through floats), at no cost: decoding text is a UTF-8 decode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import asyncpg
from asyncpg.pool import PoolConnectionProxy

from exporter.db.failures import DRIVER_ERRORS
from exporter.errors import DatabaseUnavailable, PoolExhausted

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


def value_settings(*, timezone: str) -> dict[str, str]:
    """The settings that decide how values print, whatever the server's own defaults are."""
    return {
        "TimeZone": timezone,
        "DateStyle": "ISO, MDY",
        "IntervalStyle": "postgres",
        # 1 is PostgreSQL's default since 12: shortest exact float output. Pinned, not assumed.
        "extra_float_digits": "1",
        "bytea_output": "hex",
    }


def transaction_settings(*, timezone: str) -> dict[str, str]:
    """What each export sets for its own transaction (``set_config(name, value, true)``).

    A session's settings cannot be relied on: behind PgBouncer in transaction mode each
    transaction may run on another server connection, set up by another client (or by
    nobody). So every export pins, inside its transaction, all that decides how its values
    print, and the socket check below.
    """
    return {
        **value_settings(timezone=timezone),
        # A backend otherwise notices a vanished client (the service killed, a network
        # partition) only when its next write fails, which a slow query may not do for
        # minutes. PostgreSQL 14+ checks the socket at this interval while a query runs.
        "client_connection_check_interval": "1s",
    }


#: The startup parameters PgBouncer keeps per client and restores on whichever server
#: connection serves it; it refuses a connection that sends any other (``unsupported startup
#: parameter``) unless told to ignore it.
POOLER_TRACKED_SETTINGS = ("application_name", "TimeZone", "DateStyle", "client_encoding")


def pool_settings(*, timezone: str, application_name: str) -> dict[str, str]:
    """Startup parameters of the service's pooled connections: only those a pooler tracks.

    They hold for the statements outside an export's transaction (an incremental pull's
    ``max(w)::text``); everything else is set per transaction (``transaction_settings``).
    """
    every = session_settings(timezone=timezone, application_name=application_name)
    return {name: every[name] for name in POOLER_TRACKED_SETTINGS}


def session_settings(*, timezone: str, application_name: str) -> dict[str, str]:
    """Startup parameters of a direct connection (the CLI's, tests'): everything pinned for
    the whole session."""
    return {
        "application_name": application_name,
        **transaction_settings(timezone=timezone),
        "client_encoding": "UTF8",
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
    back to the pool inside a transaction, which ``release_connection`` lets happen only when
    the pool's own reset is the safest way out (it waits for a cancelled query, rolls back,
    and terminates the connection if that fails). Expected, so not an ERROR line.
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
            # Statements are prepared per export request; a cache would only hold them longer,
            # and behind PgBouncer in transaction mode a cached (named) statement lives on one
            # server connection while the next transaction may run on another. Without a
            # cache asyncpg prepares unnamed statements, which end with their transaction.
            statement_cache_size=0,
        )
    except DRIVER_ERRORS as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    return pool


#: The pool type, for annotations above the database layer (which never imports asyncpg).
Pool = asyncpg.Pool


async def probe_database(dsn: str, *, application_name: str, timeout_s: float) -> str | None:
    """None if PostgreSQL answers a fresh connection within ``timeout_s``, else why not.

    Uses its own connection, not the pool's: readiness must not wait behind busy exports.
    """
    try:
        conn = await asyncpg.connect(
            dsn, timeout=timeout_s, server_settings={"application_name": application_name}
        )
    except DRIVER_ERRORS as exc:
        return f"cannot connect: {exc}"
    try:
        await conn.fetchval("SELECT 1", timeout=timeout_s)
    except DRIVER_ERRORS as exc:
        return f"cannot query: {exc}"
    finally:
        conn.terminate()
    return None


async def connect(dsn: str, *, server_settings: Mapping[str, str]) -> asyncpg.Connection:
    """One connection set up like the pool's (for the CLI and tests)."""
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn, server_settings=dict(server_settings), statement_cache_size=0
    )
    await init_connection(conn)
    return conn


@dataclass(slots=True, frozen=True)
class _Hold:
    """One connection checked out of the pool, and the task that checked it out."""

    conn: PoolConnectionProxy
    owner: asyncio.Task[Any] | None


@dataclass(slots=True)
class PoolLedger:
    """Who holds the pool's connections right now, and how many exports wait for one.

    asyncpg's own counts cover *connected* holders only: a holder that was never given back
    and whose connection then closed vanishes from both ``get_size()`` and "in use", so a
    leaking pool looks quiet (issue 12: 134 client disconnects emptied a 10-connection pool
    while the gauges said ``in_use 0``). The ledger counts checkouts instead: in when a
    connection is acquired, out only once the pool has it back. A hold whose task has ended
    is a lost connection.
    """

    waiting: int = 0
    holds: dict[int, _Hold] = field(default_factory=dict)

    def checked_out(self, conn: PoolConnectionProxy) -> None:
        """Count ``conn`` as held by the current task."""
        self.holds[id(conn)] = _Hold(conn, _current_task())

    def given_back(self, conn: PoolConnectionProxy) -> None:
        """``conn`` is back in the pool (or gone for good): no longer held."""
        self.holds.pop(id(conn), None)

    @property
    def in_use(self) -> int:
        """Connections checked out and not confirmed back."""
        return len(self.holds)

    @property
    def lost(self) -> int:
        """Connections whose holder ended without giving them back: the pool is smaller."""
        return sum(
            1 for hold in self.holds.values() if hold.owner is not None and hold.owner.done()
        )


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


async def acquire(pool: asyncpg.Pool, timeout_s: float, ledger: PoolLedger) -> PoolConnectionProxy:
    ledger.waiting += 1
    try:
        conn = await pool.acquire(timeout=timeout_s)
    except TimeoutError as exc:
        raise PoolExhausted(f"no database connection became free within {timeout_s:g} s") from exc
    except DRIVER_ERRORS as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
    finally:
        ledger.waiting -= 1
    ledger.checked_out(conn)
    return conn


async def release_connection(
    pool: asyncpg.Pool,
    conn: PoolConnectionProxy,
    transaction: Any = None,
    *,
    ledger: PoolLedger,
    interrupted: bool = False,
) -> None:
    """Give ``conn`` back to the pool; this cannot fail and cannot leak the connection.

    ``interrupted``: the export ended while a COPY or a cursor round trip was in flight (the
    client left, a failure). The wire protocol is then mid-operation: a ROLLBACK sent into it
    fails at random (asyncpg: "cannot switch to state 15; another operation (2) is in
    progress", about one disconnect in 80, issue 12). So no ROLLBACK is sent; the pool's
    release waits for asyncpg's cancellation of the operation, resets the session (which rolls
    back), and terminates the connection instead if the protocol is still not idle. Otherwise
    the transaction is rolled back here, and whatever that raises terminates the connection.
    Either way the pool gets the connection back in ``finally`` (``_give_back``), and the
    shield keeps a pending cancellation from cutting any of this short.
    """
    with anyio.CancelScope(shield=True):
        try:
            if _is_returned(conn):
                # Already detached: the pool was terminated under it (shutdown after the grace
                # period). Nothing is left to give back.
                return
            if transaction is not None and not interrupted and not conn.is_closed():
                try:
                    with anyio.fail_after(RELEASE_TIMEOUT_S):
                        await transaction.rollback()
                except Exception as exc:  # any: the connection's state is unknown now
                    log.warning("rollback failed (%r); terminating the connection", exc)
                    _terminate(conn)
        finally:
            await _give_back(pool, conn, ledger)


async def _give_back(pool: asyncpg.Pool, conn: PoolConnectionProxy, ledger: PoolLedger) -> None:
    """``pool.release``, then make sure the pool really has the connection back."""
    try:
        if not _is_returned(conn):
            # Terminates the connection itself if resetting it fails or stalls.
            await pool.release(conn, timeout=RELEASE_TIMEOUT_S)
    except Exception as exc:  # any: release must not fail
        log.warning("a broken connection was dropped from the pool (%r)", exc)
    if not _is_returned(conn):
        # Terminating a checked-out connection hands its slot back to the pool.
        _terminate(conn)
    if _is_returned(conn):
        ledger.given_back(conn)
    else:
        log.error("a pool connection could not be given back; the pool is one smaller")


def _is_returned(conn: PoolConnectionProxy) -> bool:
    """True once the pool has ``conn`` back: its proxy is then detached and refuses use."""
    try:
        conn.is_closed()
    except asyncpg.InterfaceError:
        return True
    return False


def _terminate(conn: PoolConnectionProxy) -> None:
    with contextlib.suppress(asyncpg.InterfaceError):
        # Raises if the pool already took the connection back.
        conn.terminate()
