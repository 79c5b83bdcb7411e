"""Driver errors, translated once at the database boundary (httpx's ``map_httpcore_exceptions``).

asyncpg and socket errors never travel above ``exporter.db``: ``translate_errors`` turns them
into the exporter's own (``exporter.errors``), and the SQLSTATE knowledge lives here alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

import asyncpg

from exporter.errors import (
    DatabaseLost,
    DatabaseUnavailable,
    ExporterError,
    InvalidParameterValue,
    QueryFailed,
    QueryTimeout,
)

#: What the driver raises: server errors, client-side protocol errors, and the socket's own.
#: The one spelling of this tuple; catch it only around calls into the database.
DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    TimeoutError,
)

#: SQLSTATEs of PostgreSQL's own time limits: statement_timeout (or a cancel request) and
#: idle_in_transaction_session_timeout.
_TIMEOUT_SQLSTATES = frozenset({"57014", "25P03"})
#: Class 22, "data exception": while binding, PostgreSQL refused a parameter's value.
_DATA_EXCEPTION_CLASS = "22"


class Phase(Enum):
    """Where in an export the driver failed: it decides what a lost connection means."""

    #: Acquiring, BEGIN, PREPARE, binding: nothing has been sent to the client yet, so a lost
    #: connection is "the database is unavailable" (503, retry) and a class-22 error is a bad
    #: parameter value (422).
    OPENING = "opening"
    #: Rows are flowing: a lost connection is ``DatabaseLost``, any other error the query's.
    RUNNING = "running"


def is_connection_failure(exc: BaseException) -> bool:
    """True for errors that mean the connection or the server is gone, not the query."""
    if isinstance(exc, OSError | asyncpg.InterfaceError):
        return True
    sqlstate = getattr(exc, "sqlstate", None) or ""
    # 08: connection exception; 57P01-57P05: admin/crash shutdown, cannot connect now, ...
    return sqlstate.startswith(("08", "57P"))


def translated(exc: BaseException, export: str, phase: Phase) -> ExporterError:
    """The exporter error that ``exc``, raised by the driver during ``phase``, stands for."""
    sqlstate: str | None = getattr(exc, "sqlstate", None)
    if sqlstate in _TIMEOUT_SQLSTATES:
        return QueryTimeout(export, describe_error(exc), sqlstate=sqlstate)
    if isinstance(exc, TimeoutError):  # an OSError too: before the connection check
        return QueryTimeout(export, f"timed out: {exc}")
    if is_connection_failure(exc):
        if phase is Phase.OPENING:
            return DatabaseUnavailable(f"lost the database connection: {exc}")
        return DatabaseLost(f"lost the database connection: {exc}")
    if phase is Phase.OPENING and (sqlstate or "").startswith(_DATA_EXCEPTION_CLASS):
        return InvalidParameterValue(export, describe_error(exc), sqlstate=sqlstate)
    return QueryFailed(export, describe_error(exc), sqlstate=sqlstate)


@contextmanager
def translate_errors(export: str, phase: Phase) -> Iterator[None]:
    """Run the block; a driver error leaving it becomes the exporter error it stands for.

    Anything else (our own errors, a sink's exception, cancellation) passes untouched.
    """
    try:
        yield
    except DRIVER_ERRORS as exc:
        raise translated(exc, export, phase) from exc


def describe_error(exc: BaseException) -> str:
    """PostgreSQL's message, with its DETAIL when it gave one."""
    detail = getattr(exc, "detail", None)
    return str(exc) if not detail else f"{exc} ({detail})"
