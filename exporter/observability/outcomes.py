"""How an export request ended: outcome and cause names, and the one log line it gets.

The names are shared by the log line (``outcome``, ``cause``) and the metrics
(``exporter_exports_total{outcome, cause}``), so a dashboard and a log search agree.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from exporter.catalog.params import scrub_secrets
from exporter.errors import Cause, ExporterError, ExportFailed

log = logging.getLogger("exporter.stream")


class Outcome(StrEnum):
    """How an export request ended (``outcome`` in its log line and metrics)."""

    #: Not ended yet: before the first byte, then while the body flows.
    NOT_STARTED = "not_started"
    STREAMING = "streaming"
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

    @property
    def ended(self) -> bool:
        """False while the export may still change how it ends."""
        return self not in (Outcome.NOT_STARTED, Outcome.STREAMING)


def failure_cause(exc: BaseException) -> Cause:
    """Why an export that was running failed: one of the ``failed`` causes.

    Every error of ours names its cause (``ExporterError.cause``); a bare ``TimeoutError`` is
    a time limit of the service's own; anything else is a bug (``internal``).
    """
    if isinstance(exc, ExporterError):
        return exc.cause
    return Cause.TIMEOUT if isinstance(exc, TimeoutError) else Cause.INTERNAL


def refusal(exc: ExporterError) -> tuple[Outcome, Cause]:
    """(outcome, cause) for an error raised before the response started.

    A request the service would not run (``Rejected``) or could not run now (``RetryLater``) is
    ``rejected`` with the reason; an export that failed on its own (``ExportFailed``, a ``500``)
    is ``failed``.
    """
    return (Outcome.FAILED if isinstance(exc, ExportFailed) else Outcome.REJECTED), exc.cause


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
    outcome: Outcome = Outcome.NOT_STARTED
    cause: Cause | None = None
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
    elif record.outcome == Outcome.CANCELLED:
        record.error = "the server shut down before the export ended"
    fields: dict[str, Any] = asdict(record)
    fields["duration_s"] = round(record.duration_s, 6)
    if record.ttfb_s is not None:
        fields["ttfb_s"] = round(record.ttfb_s, 6)
    if record.outcome in (Outcome.FAILED, Outcome.CANCELLED, Outcome.CLIENT_TOO_SLOW):
        if record.cause == Cause.INTERNAL and failure is not None:
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
    elif record.outcome == Outcome.REJECTED:
        log.info("export %s rejected (%s): %s", record.export, record.cause, record.error,
                 extra={"fields": fields})  # fmt: skip
    else:
        log.info("export %s %s: %d rows", record.export, record.outcome, record.rows,
                 extra={"fields": fields})  # fmt: skip
