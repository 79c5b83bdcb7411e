"""How an export request ended: outcome and cause names, and the one log line it gets.

The names are shared by the log line (``outcome``, ``cause``) and the metrics
(``exporter_exports_total{outcome, cause}``), so a dashboard and a log search agree.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from exporter.catalog.params import scrub_secrets
from exporter.db.connections import is_connection_failure
from exporter.errors import (
    DatabaseUnavailable,
    EncodingFailed,
    ExportCapExceeded,
    ExporterError,
    ExportForbidden,
    InvalidParameter,
    QueryFailed,
    RateLimited,
    ServerBusy,
    TooManyConcurrentExports,
    UnacceptableEncoding,
    UnknownExport,
    UnsupportedFormat,
)

log = logging.getLogger("exporter.stream")

COMPLETED = "completed"
#: The client left, or the server could not write to it.
CLIENT_DISCONNECTED = "client_disconnected"
#: The client took longer than EXPORTER_CLIENT_WRITE_TIMEOUT to accept a chunk.
CLIENT_TOO_SLOW = "client_too_slow"
#: The service or the database failed; ``cause`` says which way.
FAILED = "failed"
#: Refused before anything ran; ``cause`` is the reason (a 4xx or a 503).
REJECTED = "rejected"
#: Still running when the server shut down and the grace period ended (cause ``shutdown``).
CANCELLED = "cancelled"
OUTCOMES = (COMPLETED, CLIENT_DISCONNECTED, CLIENT_TOO_SLOW, FAILED, REJECTED, CANCELLED)

#: Causes of ``failed``.
QUERY_ERROR = "query_error"
DATABASE_LOST = "database_lost"
TIMEOUT = "timeout"
ENCODING = "encoding"
INTERNAL = "internal"
#: The export's own -- max_rows / -- max_bytes cap.
CAP_EXCEEDED = "cap_exceeded"
#: The cause of ``cancelled``.
SHUTDOWN = "shutdown"

#: SQLSTATEs of PostgreSQL's own time limits: statement_timeout (or a cancel request) and
#: idle_in_transaction_session_timeout.
_TIMEOUT_SQLSTATES = ("57014", "25P03")


def failure_cause(exc: BaseException) -> str:
    """Why an export that was running failed: one of the ``failed`` causes."""
    if isinstance(exc, TimeoutError) or getattr(exc, "sqlstate", None) in _TIMEOUT_SQLSTATES:
        return TIMEOUT
    if is_connection_failure(exc):
        return DATABASE_LOST
    if isinstance(exc, EncodingFailed):
        return ENCODING
    if isinstance(exc, ExportCapExceeded):
        return CAP_EXCEEDED
    if isinstance(exc, asyncpg.PostgresError | QueryFailed):
        return QUERY_ERROR
    return INTERNAL


def refusal(exc: ExporterError) -> tuple[str, str]:
    """(outcome, cause) for an error raised before the response started.

    A request the service would not run is ``rejected`` with the reason; a query that failed
    on its own (a ``500``) is ``failed``.
    """
    if isinstance(exc, UnknownExport):
        return REJECTED, "unknown_export"
    if isinstance(exc, InvalidParameter):
        return REJECTED, "invalid_parameter"
    if isinstance(exc, UnsupportedFormat):
        return REJECTED, "unsupported_format"
    if isinstance(exc, UnacceptableEncoding):
        return REJECTED, "unacceptable_encoding"
    if isinstance(exc, DatabaseUnavailable):
        return REJECTED, "database_unavailable"
    if isinstance(exc, ExportForbidden):
        return REJECTED, "forbidden"
    if isinstance(exc, RateLimited):
        return REJECTED, "rate_limited"
    if isinstance(exc, TooManyConcurrentExports):
        return REJECTED, "too_many_concurrent_exports"
    if isinstance(exc, ServerBusy):
        return REJECTED, "server_busy"
    if isinstance(exc, QueryFailed):
        if exc.sqlstate and exc.sqlstate.startswith("22"):
            return REJECTED, "invalid_parameter"  # PostgreSQL refused a bound value
        return FAILED, TIMEOUT if exc.sqlstate in _TIMEOUT_SQLSTATES else QUERY_ERROR
    return FAILED, failure_cause(exc)


@dataclass(slots=True, kw_only=True)
class ExportRecord:
    """One export request, as its log line shows it. Every field is always present."""

    request_id: str | None
    #: The API key's id once authentication exists; never the secret.
    key_id: str | None
    #: The export's name as asked (cut short: an unknown name comes from the client).
    export: str
    format: str | None
    #: Parameter values with sensitive ones redacted; None when the export is unknown.
    params: dict[str, str] | None
    status: int | None = None
    rows: int = 0
    bytes: int = 0
    duration_s: float = 0.0
    ttfb_s: float | None = None
    outcome: str = "not_started"
    cause: str | None = None
    error: str | None = None


def log_export(
    record: ExportRecord,
    failure: BaseException | None = None,
    *,
    secrets: Sequence[str] = (),
) -> None:
    """Log ``record`` as the export's one line: an error for failures, else info.

    ``secrets`` (sensitive parameter values) are scrubbed from the error text: PostgreSQL
    quotes a value it cannot use in its message. A traceback is logged only for an internal
    error; for the others the message says it all.
    """
    if failure is not None:
        record.error = scrub_secrets(str(failure) or type(failure).__name__, secrets)
    elif record.outcome == CANCELLED:
        record.error = "the server shut down before the export ended"
    fields: dict[str, Any] = asdict(record)
    fields["duration_s"] = round(record.duration_s, 6)
    if record.ttfb_s is not None:
        fields["ttfb_s"] = round(record.ttfb_s, 6)
    if record.outcome in (FAILED, CANCELLED, CLIENT_TOO_SLOW):
        if record.cause == INTERNAL and failure is not None:
            fields["exception"] = scrub_secrets(
                "".join(traceback.format_exception(failure)), secrets
            )
        log.error(
            "export %s aborted after %d rows (%s): %s",
            record.export,
            record.rows,
            record.outcome,
            record.error,
            extra={"fields": fields},
        )
    elif record.outcome == REJECTED:
        log.info("export %s rejected (%s): %s", record.export, record.cause, record.error,
                 extra={"fields": fields})  # fmt: skip
    else:
        log.info("export %s %s: %d rows", record.export, record.outcome, record.rows,
                 extra={"fields": fields})  # fmt: skip
