"""Driver errors become the exporter's own at the database boundary, by phase and SQLSTATE."""

from __future__ import annotations

import asyncpg
import pytest

from exporter.db.failures import Phase, translate_errors, translated
from exporter.errors import (
    DatabaseLost,
    DatabaseUnavailable,
    ExporterError,
    InvalidParameterValue,
    QueryFailed,
    QueryTimeout,
    Rejected,
    RetryLater,
)
from exporter.observability.outcomes import failure_cause

RUNNING = [
    (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), QueryTimeout),
    (asyncpg.IdleInTransactionSessionTimeoutError("idle"), QueryTimeout),
    (asyncpg.AdminShutdownError("terminating connection"), DatabaseLost),
    (asyncpg.ConnectionDoesNotExistError("closed"), DatabaseLost),
    (ConnectionResetError(), DatabaseLost),
    (asyncpg.DivisionByZeroError("division by zero"), QueryFailed),
    (asyncpg.InvalidTextRepresentationError("invalid input syntax"), QueryFailed),
    (TimeoutError(), QueryTimeout),
]


@pytest.mark.parametrize(("driver_error", "expected"), RUNNING)
def test_errors_while_rows_flow(driver_error: BaseException, expected: type[Exception]) -> None:
    assert type(translated(driver_error, "orders", Phase.RUNNING)) is expected


def test_while_opening_a_lost_connection_is_unavailable_and_class_22_a_bad_value() -> None:
    lost = translated(asyncpg.ConnectionDoesNotExistError("closed"), "orders", Phase.OPENING)
    assert type(lost) is DatabaseUnavailable
    bad_value = translated(asyncpg.InvalidTextRepresentationError("bad"), "orders", Phase.OPENING)
    assert isinstance(bad_value, InvalidParameterValue) and isinstance(bad_value, Rejected)
    failed = translated(asyncpg.UndefinedTableError("no table"), "orders", Phase.OPENING)
    assert type(failed) is QueryFailed and failed.sqlstate == "42P01"


@pytest.mark.parametrize(
    ("driver_error", "cause"),
    [
        (asyncpg.QueryCanceledError("statement timeout"), "timeout"),
        (asyncpg.AdminShutdownError("terminating connection"), "database_lost"),
        (asyncpg.DivisionByZeroError("division by zero"), "query_error"),
    ],
)
def test_the_translated_error_names_the_outcome_cause(
    driver_error: BaseException, cause: str
) -> None:
    assert failure_cause(translated(driver_error, "orders", Phase.RUNNING)) == cause


def test_the_context_manager_translates_driver_errors_and_passes_everything_else() -> None:
    with pytest.raises(DatabaseLost) as caught:
        with translate_errors("orders", Phase.RUNNING):
            raise asyncpg.ConnectionDoesNotExistError("closed")
    assert isinstance(caught.value.__cause__, asyncpg.ConnectionDoesNotExistError)
    assert isinstance(caught.value, RetryLater) and caught.value.costs_attempt

    class SinkFailed(Exception):
        pass

    with pytest.raises(SinkFailed), translate_errors("orders", Phase.RUNNING):
        raise SinkFailed  # a sink's own error (the client left) is not the database's
    with pytest.raises(QueryFailed), translate_errors("orders", Phase.RUNNING):
        raise QueryFailed("orders", "already ours")  # not translated twice
    assert not issubclass(QueryFailed, RetryLater) and issubclass(QueryFailed, ExporterError)
