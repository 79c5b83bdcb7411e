"""Errors -> RFC 9457 problem+json responses: the one table that knows HTTP statuses.

Each error class that needs an answer of its own has one row; ``response_for_error`` looks the
error's class up along its MRO (as Starlette finds exception handlers), so a subclass without a
row answers like its parent. The problem ``type`` is the class's stable ``code``; every
``RetryLater`` carries ``Retry-After``, added here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from exporter.errors import (
    CatalogError,
    CsrfRefused,
    DatabaseUnavailable,
    EncodingFailed,
    ExporterError,
    ExportForbidden,
    InvalidParameter,
    InvalidParameterValue,
    JobFileGone,
    JobFilePending,
    NotAuthenticated,
    QueryFailed,
    RateLimited,
    RequestTooLarge,
    RetryLater,
    ServerBusy,
    TooManyConcurrentExports,
    UnacceptableEncoding,
    UnknownExport,
    UnknownJob,
    UnknownJobFile,
    UnsupportedFormat,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: Problem types are URNs: stable identifiers to switch on, documented in docs/operations.md.
_TYPE_BASE = "urn:exporter:problem:"
#: RFC 6750's challenge; ``error`` says why a presented key was refused.
_REALM = 'Bearer realm="exporter"'


def _no_extra(exc: Any) -> dict[str, Any]:
    return {}


def _no_headers(exc: Any) -> dict[str, str]:
    return {}


def _message(exc: Any) -> str:
    return str(exc)


def _reason(exc: Any) -> str:
    return str(exc.reason)


@dataclass(frozen=True, slots=True)
class Problem:
    """How one error class answers: status, title, and what the body and headers add."""

    status: int
    title: str
    detail: Callable[[Any], str] = _message
    extra: Callable[[Any], dict[str, Any]] = _no_extra
    headers: Callable[[Any], Mapping[str, str]] = _no_headers


def _challenge(exc: NotAuthenticated) -> dict[str, str]:
    challenge = _REALM
    if exc.invalid_token:
        challenge += ', error="invalid_token"'
    elif exc.malformed:
        challenge += ', error="invalid_request"'
    return {"WWW-Authenticate": challenge}


#: Error class -> its answer. Looked up along the error's MRO; ``ExporterError`` is the default.
PROBLEMS: dict[type[ExporterError], Problem] = {
    NotAuthenticated: Problem(401, "Unauthorized", detail=_reason, headers=_challenge),
    ExportForbidden: Problem(
        403, "Export not allowed", extra=lambda e: {"key_id": e.key_id, "export": e.export}
    ),
    CsrfRefused: Problem(403, "Cross-site request refused", detail=_reason),
    UnknownExport: Problem(
        404, "Unknown export", extra=lambda e: {"export": e.name, "known_exports": list(e.known)}
    ),
    UnknownJob: Problem(404, "Unknown job", extra=lambda e: {"job": e.job_id}),
    UnsupportedFormat: Problem(
        406, "Unsupported format", extra=lambda e: {"supported": list(e.supported)}
    ),
    UnacceptableEncoding: Problem(
        406,
        "Unacceptable content coding",
        extra=lambda e: {"supported": [*e.offered, "identity"]},
        headers=lambda e: {"Vary": "Accept-Encoding"},
    ),
    JobFilePending: Problem(409, "Job file not available"),
    JobFileGone: Problem(410, "Job file gone"),
    UnknownJobFile: Problem(404, "Unknown job file"),
    RequestTooLarge: Problem(
        413, "Request body too large", extra=lambda e: {"limit_bytes": e.limit_bytes}
    ),
    InvalidParameter: Problem(
        422, "Invalid parameter", extra=lambda e: {"parameter": e.name, "reason": e.reason}
    ),
    InvalidParameterValue: Problem(
        422, "Invalid parameter value", detail=_reason, extra=lambda e: {"sqlstate": e.sqlstate}
    ),
    RateLimited: Problem(
        429, "Rate limit exceeded", extra=lambda e: {"requests_per_minute": e.requests_per_minute}
    ),
    TooManyConcurrentExports: Problem(
        429, "Too many concurrent exports", extra=lambda e: {"limit": e.limit}
    ),
    QueryFailed: Problem(
        500, "Export query failed", detail=_reason, extra=lambda e: {"sqlstate": e.sqlstate}
    ),
    CatalogError: Problem(500, "Export failed"),
    EncodingFailed: Problem(500, "Export failed"),
    ServerBusy: Problem(503, "Server busy", extra=lambda e: {"limit": e.limit}),
    DatabaseUnavailable: Problem(503, "Database unavailable", detail=_reason),
    ExporterError: Problem(500, "Internal error"),
}


def problem_for(exc: ExporterError) -> Problem:
    """The row of ``PROBLEMS`` that answers ``exc``: its class's, or its nearest parent's."""
    for cls in type(exc).__mro__:
        problem = PROBLEMS.get(cls)
        if problem is not None:
            return problem
    raise AssertionError("ExporterError has a row")  # pragma: no cover


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body = {"type": _TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def response_for_error(exc: ExporterError) -> Response:
    """The HTTP answer for an error raised before the first byte of a response."""
    problem = problem_for(exc)
    headers = dict(problem.headers(exc))
    if isinstance(exc, RetryLater):
        headers["Retry-After"] = str(exc.retry_after_s)
    return problem_response(
        problem.status,
        problem.title,
        problem.detail(exc),
        slug=exc.code,
        headers=headers,
        **problem.extra(exc),
    )
