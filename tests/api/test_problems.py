"""The one error table: every error of ours answers with a status and its stable code."""

from __future__ import annotations

import inspect

import orjson
import pytest

import exporter.errors as errors_module
from exporter.api.problems import PROBLEMS, response_for_error
from exporter.errors import (
    DatabaseLost,
    ExporterError,
    ExportFailed,
    InvalidParameter,
    NotAuthenticated,
    PoolExhausted,
    QueryTimeout,
    RateLimited,
    Rejected,
    RetryLater,
    ServerBusy,
)

ERROR_CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors_module, inspect.isclass)
    if issubclass(cls, ExporterError)
]


def test_every_error_class_is_in_exactly_one_category() -> None:
    for cls in ERROR_CLASSES:
        if cls in (ExporterError, Rejected, RetryLater, ExportFailed):
            continue
        categories = [
            base for base in (Rejected, RetryLater, ExportFailed) if issubclass(cls, base)
        ]
        assert len(categories) == 1, (cls, categories)


def test_every_table_row_is_an_error_class_and_codes_are_stable_names() -> None:
    assert set(PROBLEMS) <= set(ERROR_CLASSES)
    for cls in ERROR_CLASSES:
        assert cls.code and cls.code == cls.code.lower() and " " not in cls.code, cls


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidParameter("rows", "not a number"), 422, "invalid-parameter"),
        (NotAuthenticated("no key"), 401, "unauthorized"),
        (PoolExhausted("no connection free"), 503, "database-unavailable"),  # the parent's row
        (DatabaseLost("gone"), 503, "database-unavailable"),
        (QueryTimeout("orders", "statement timeout", sqlstate="57014"), 500, "query-failed"),
        (RateLimited("k", 60, retry_after_s=7), 429, "rate-limited"),
        (ServerBusy(10, retry_after_s=3), 503, "server-busy"),
        (ExporterError("bug"), 500, "internal-error"),
    ],
)
def test_the_answer_comes_from_the_nearest_row_along_the_mro(
    error: ExporterError, status: int, code: str
) -> None:
    response = response_for_error(error)
    body = orjson.loads(bytes(response.body))
    assert response.status_code == body["status"] == status
    assert body["type"] == f"urn:exporter:problem:{code}"
    assert response.headers["content-type"] == "application/problem+json"


def test_every_retry_later_and_only_those_carry_retry_after() -> None:
    later = response_for_error(RateLimited("k", 60, retry_after_s=7))
    assert later.headers["retry-after"] == "7"
    assert response_for_error(PoolExhausted("busy")).headers["retry-after"] == "1"
    assert "retry-after" not in response_for_error(InvalidParameter("rows", "bad")).headers
