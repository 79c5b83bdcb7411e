from __future__ import annotations

import asyncpg
import pytest

from exporter.errors import (
    DatabaseUnavailable,
    EncodingFailed,
    ExporterError,
    InvalidParameter,
    QueryFailed,
    UnknownExport,
    UnsupportedFormat,
)
from exporter.observability.outcomes import failure_cause, refusal


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (TimeoutError(), "timeout"),
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), "timeout"),
        (asyncpg.IdleInTransactionSessionTimeoutError("idle"), "timeout"),
        (asyncpg.AdminShutdownError("terminating connection"), "database_lost"),
        (asyncpg.ConnectionDoesNotExistError("closed"), "database_lost"),
        (ConnectionResetError(), "database_lost"),
        (asyncpg.DivisionByZeroError("division by zero"), "query_error"),
        (EncodingFailed("a", "multidimensional array"), "encoding"),
        (RuntimeError("bug"), "internal"),
    ],
)
def test_failure_causes(exc: BaseException, cause: str) -> None:
    assert failure_cause(exc) == cause


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (UnknownExport("x", []), ("rejected", "unknown_export")),
        (InvalidParameter("x", "bad"), ("rejected", "invalid_parameter")),
        (UnsupportedFormat("xml", ["csv"]), ("rejected", "unsupported_format")),
        (DatabaseUnavailable("pool exhausted"), ("rejected", "database_unavailable")),
        (
            QueryFailed("x", "invalid input syntax", sqlstate="22P02"),
            ("rejected", "invalid_parameter"),
        ),
        (QueryFailed("x", "statement timeout", sqlstate="57014"), ("failed", "timeout")),
        (QueryFailed("x", "relation does not exist", sqlstate="42P01"), ("failed", "query_error")),
    ],
)
def test_refusals(exc: ExporterError, expected: tuple[str, str]) -> None:
    assert refusal(exc) == expected
