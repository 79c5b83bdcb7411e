"""Outcome and cause of an export: named by the error itself, never by an isinstance ladder."""

from __future__ import annotations

import pytest

from exporter.errors import (
    DatabaseLost,
    DatabaseUnavailable,
    EncodingFailed,
    ExportCapExceeded,
    ExporterError,
    InvalidParameter,
    InvalidParameterValue,
    PoolExhausted,
    QueryFailed,
    QueryTimeout,
    UnknownExport,
    UnsupportedFormat,
)
from exporter.observability.outcomes import failure_cause, refusal


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (TimeoutError(), "timeout"),
        (QueryTimeout("x", "canceling statement due to statement timeout"), "timeout"),
        (DatabaseLost("terminating connection"), "database_lost"),
        (QueryFailed("x", "division by zero", sqlstate="22012"), "query_error"),
        (EncodingFailed("a", "multidimensional array"), "encoding"),
        (ExportCapExceeded("x", "max_rows", 10), "cap_exceeded"),
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
        (PoolExhausted("pool exhausted"), ("rejected", "database_unavailable")),
        (DatabaseUnavailable("server down"), ("rejected", "database_unavailable")),
        (
            InvalidParameterValue("x", "invalid input syntax", sqlstate="22P02"),
            ("rejected", "invalid_parameter"),
        ),
        (QueryTimeout("x", "statement timeout", sqlstate="57014"), ("failed", "timeout")),
        (QueryFailed("x", "relation does not exist", sqlstate="42P01"), ("failed", "query_error")),
    ],
)
def test_refusals(exc: ExporterError, expected: tuple[str, str]) -> None:
    assert refusal(exc) == expected
