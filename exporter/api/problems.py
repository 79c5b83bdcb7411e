"""Errors -> RFC 9457 problem+json responses. The only place that knows status codes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from exporter.errors import (
    CatalogError,
    DatabaseUnavailable,
    EncodingFailed,
    ExporterError,
    ExportForbidden,
    InvalidParameter,
    JobFileUnavailable,
    NotAuthenticated,
    QueryFailed,
    RateLimited,
    ServerBusy,
    TooManyConcurrentExports,
    UnacceptableEncoding,
    UnknownExport,
    UnknownJob,
    UnsupportedFormat,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: Problem types are URNs: stable identifiers to switch on, documented in the README.
_TYPE_BASE = "urn:exporter:problem:"
#: RFC 6750's challenge; ``error`` says why a presented key was refused.
_REALM = 'Bearer realm="exporter"'


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body = {"type": _TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def response_for_error(exc: ExporterError) -> Response:
    """The HTTP answer for an error raised before the first byte of a response."""
    if isinstance(exc, NotAuthenticated):
        challenge = _REALM
        if exc.invalid_token:
            challenge += ', error="invalid_token"'
        elif exc.malformed:
            challenge += ', error="invalid_request"'
        return problem_response(
            401, "Unauthorized", exc.reason, slug="unauthorized",
            headers={"WWW-Authenticate": challenge},
        )  # fmt: skip
    if isinstance(exc, ExportForbidden):
        return problem_response(
            403, "Export not allowed", str(exc), slug="export-forbidden",
            key_id=exc.key_id, export=exc.export,
        )  # fmt: skip
    if isinstance(exc, RateLimited):
        return problem_response(
            429, "Rate limit exceeded", str(exc), slug="rate-limited",
            headers={"Retry-After": str(exc.retry_after_s)},
            requests_per_minute=exc.requests_per_minute,
        )  # fmt: skip
    if isinstance(exc, TooManyConcurrentExports):
        return problem_response(
            429, "Too many concurrent exports", str(exc), slug="too-many-concurrent-exports",
            headers={"Retry-After": str(exc.retry_after_s)}, limit=exc.limit,
        )  # fmt: skip
    if isinstance(exc, ServerBusy):
        return problem_response(
            503, "Server busy", str(exc), slug="server-busy",
            headers={"Retry-After": str(exc.retry_after_s)}, limit=exc.limit,
        )  # fmt: skip
    if isinstance(exc, UnknownExport):
        return problem_response(
            404, "Unknown export", str(exc), slug="unknown-export",
            export=exc.name, known_exports=list(exc.known),
        )  # fmt: skip
    if isinstance(exc, UnsupportedFormat):
        return problem_response(
            406, "Unsupported format", str(exc), slug="unsupported-format",
            supported=list(exc.supported),
        )  # fmt: skip
    if isinstance(exc, UnacceptableEncoding):
        return problem_response(
            406, "Unacceptable content coding", str(exc), slug="unacceptable-encoding",
            headers={"Vary": "Accept-Encoding"}, supported=[*exc.offered, "identity"],
        )  # fmt: skip
    if isinstance(exc, InvalidParameter):
        return problem_response(
            422, "Invalid parameter", str(exc), slug="invalid-parameter",
            parameter=exc.name, reason=exc.reason,
        )  # fmt: skip
    if isinstance(exc, DatabaseUnavailable):
        return problem_response(
            503, "Database unavailable", exc.reason, slug="database-unavailable",
            headers={"Retry-After": str(exc.retry_after_s)},
        )  # fmt: skip
    if isinstance(exc, QueryFailed):
        if exc.sqlstate and exc.sqlstate.startswith("22"):
            # Class 22 at bind time: PostgreSQL itself rejected a parameter value.
            return problem_response(
                422, "Invalid parameter value", exc.reason, slug="invalid-parameter-value",
                sqlstate=exc.sqlstate,
            )  # fmt: skip
        return problem_response(
            500, "Export query failed", exc.reason, slug="query-failed", sqlstate=exc.sqlstate
        )
    if isinstance(exc, UnknownJob):
        return problem_response(404, "Unknown job", str(exc), slug="unknown-job", job=exc.job_id)
    if isinstance(exc, JobFileUnavailable):
        if exc.gone:
            return problem_response(410, "Job file gone", str(exc), slug="job-file-gone")
        return problem_response(409, "Job file not available", str(exc), slug="job-file-pending")
    if isinstance(exc, CatalogError | EncodingFailed):
        return problem_response(500, "Export failed", str(exc), slug="export-failed")
    return problem_response(500, "Internal error", str(exc), slug="internal-error")
