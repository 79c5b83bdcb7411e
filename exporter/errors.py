"""The exporter's error tree: every error it raises on purpose, in three categories.

Callers switch on the category, never on the concrete class: the API maps classes to HTTP in
one table (``exporter.api.problems``), and the CLI, the job worker and the outcome log switch
on the three bases. Errors carry data and two class-level names: ``code``, the stable public
identifier (the problem type's last part), and ``cause``, the ``cause`` label of the log line
and of ``exporter_exports_total``. No HTTP status lives here.

```
ExporterError                        code "internal-error"
├── Rejected                         the request's (or the configuration's) fault: retrying the
│   │                                same thing cannot help. HTTP 4xx, CLI exit 2, a job fails
│   │                                without another attempt.
│   ├── ConfigError                  a setting (or the keys file: KeysFileError)
│   ├── CatalogError                 an export definition file
│   ├── UnknownExport
│   ├── UnsupportedFormat
│   ├── UnacceptableEncoding
│   ├── InvalidParameter
│   ├── InvalidParameterValue        PostgreSQL itself refused a bound value (SQLSTATE class 22)
│   ├── RequestTooLarge              a request body over its limit
│   ├── NotAuthenticated
│   ├── ExportForbidden
│   ├── CsrfRefused                  a browser session's state change without its token
│   ├── UnknownJob
│   └── JobFileUnavailable
│       ├── JobFilePending           not written yet (or never will be)
│       ├── JobFileGone              expired or deleted
│       └── UnknownJobFile           a download URL with another file name
├── RetryLater(retry_after_s)        not now: HTTP 429/503 with Retry-After, CLI exit 75, a job
│   │                                goes back to the queue
│   ├── DatabaseUnavailable          no connection could be had (server down or unreachable)
│   │   ├── PoolExhausted            every pooled connection is busy
│   │   └── DatabaseLost             the connection died under a running export
│   ├── RateLimited
│   ├── TooManyConcurrentExports
│   └── ServerBusy
└── ExportFailed                     the export itself failed: before the first byte a 500,
    │                                after it an abort; CLI exit 1; a job fails
    ├── QueryFailed(sqlstate)
    │   └── QueryTimeout             statement_timeout or idle_in_transaction_session_timeout
    ├── EncodingFailed
    ├── CopyOutputInvalid
    └── ExportCapExceeded
```

Driver errors (asyncpg, sockets) never travel past ``exporter.db``: ``exporter.db.failures``
translates them into this tree at the boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import ClassVar


class Cause(StrEnum):
    """Why an export request did not complete: the ``cause`` of its log line and metrics.

    Refusals (before anything ran) and failures (the export itself) share one vocabulary, so
    a dashboard and a log search agree.
    """

    # Refused (``rejected``):
    CONFIG_INVALID = "config_invalid"
    CATALOG_INVALID = "catalog_invalid"
    UNKNOWN_EXPORT = "unknown_export"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNACCEPTABLE_ENCODING = "unacceptable_encoding"
    INVALID_PARAMETER = "invalid_parameter"
    REQUEST_TOO_LARGE = "request_too_large"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    UNKNOWN_JOB = "unknown_job"
    JOB_FILE_PENDING = "job_file_pending"
    JOB_FILE_GONE = "job_file_gone"
    DATABASE_UNAVAILABLE = "database_unavailable"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_CONCURRENT_EXPORTS = "too_many_concurrent_exports"
    SERVER_BUSY = "server_busy"
    # Failed (``failed``):
    QUERY_ERROR = "query_error"
    DATABASE_LOST = "database_lost"
    TIMEOUT = "timeout"
    ENCODING = "encoding"
    #: The export's own ``-- max_rows`` / ``-- max_bytes`` cap.
    CAP_EXCEEDED = "cap_exceeded"
    INTERNAL = "internal"
    # Cancelled (``cancelled``): still running when the server shut down.
    SHUTDOWN = "shutdown"


class ExporterError(Exception):
    """Root of every error the exporter raises on purpose."""

    code: ClassVar[str] = "internal-error"
    cause: ClassVar[Cause] = Cause.INTERNAL


class Rejected(ExporterError):
    """The request (or the configuration) is at fault: the same thing again fails again."""


class RetryLater(ExporterError):
    """Not now: the same request may succeed after ``retry_after_s`` seconds."""

    #: Whether something failed (a job re-queued for it uses one of its attempts) rather than
    #: the service merely being busy (re-queued for free).
    costs_attempt: ClassVar[bool] = False

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ExportFailed(ExporterError):
    """The export itself failed (its query, its values, its caps)."""


class ConfigError(Rejected):
    """A setting has a value the exporter cannot use."""

    code = "config-invalid"
    cause = Cause.CONFIG_INVALID

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"setting {name}: {reason}")
        self.name = name
        self.reason = reason


class KeysFileError(ConfigError):
    """The API keys file is malformed; names the file, line and field."""

    def __init__(self, path: Path | str, line: int | None, field: str, reason: str) -> None:
        ExporterError.__init__(
            self, f"{path}:{line}: {field}: {reason}" if line else f"{path}: {field}: {reason}"
        )
        self.name = field
        self.reason = reason
        self.path = str(path)
        self.line = line


class CatalogError(Rejected):
    """An export definition file is malformed; names the file and line."""

    code = "export-failed"
    cause = Cause.CATALOG_INVALID

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


class UnknownExport(Rejected):
    """No export has this name."""

    code = "unknown-export"
    cause = Cause.UNKNOWN_EXPORT

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown export {name!r}")
        self.name = name
        self.known = tuple(known)


class UnsupportedFormat(Rejected):
    """The asked format (by name or media type) is not one we produce."""

    code = "unsupported-format"
    cause = Cause.UNSUPPORTED_FORMAT

    def __init__(self, asked: str, supported: Sequence[str]) -> None:
        super().__init__(f"unsupported format {asked!r}; supported: {', '.join(supported)}")
        self.asked = asked
        self.supported = tuple(supported)


class UnacceptableEncoding(Rejected):
    """``Accept-Encoding`` refuses identity and every content coding we offer."""

    code = "unacceptable-encoding"
    cause = Cause.UNACCEPTABLE_ENCODING

    def __init__(self, asked: str, offered: Sequence[str]) -> None:
        offers = ", ".join(offered) or "none (compression is off)"
        super().__init__(
            f"Accept-Encoding {asked!r} refuses an uncompressed response and every coding "
            f"offered: {offers}"
        )
        self.asked = asked
        self.offered = tuple(offered)


class InvalidParameter(Rejected):
    """A request parameter is missing, unknown, repeated or has a bad value."""

    code = "invalid-parameter"
    cause = Cause.INVALID_PARAMETER

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"parameter {name!r}: {reason}")
        self.name = name
        self.reason = reason


class InvalidParameterValue(Rejected):
    """PostgreSQL refused a bound value (SQLSTATE class 22 while binding)."""

    code = "invalid-parameter-value"
    cause = Cause.INVALID_PARAMETER

    def __init__(self, export: str, reason: str, *, sqlstate: str | None = None) -> None:
        super().__init__(f"export {export!r}: {reason}")
        self.export = export
        self.reason = reason
        self.sqlstate = sqlstate


class RequestTooLarge(Rejected):
    """A request body is larger than the service reads (``EXPORTER_REQUEST_BODY_MAX_BYTES``)."""

    code = "request-too-large"
    cause = Cause.REQUEST_TOO_LARGE

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"the request body is larger than {limit_bytes:,} bytes")
        self.limit_bytes = limit_bytes


class NotAuthenticated(Rejected):
    """The request carries no usable API key.

    ``invalid_token``: a key was sent but is unknown or wrong; ``malformed``: the credentials
    header is not one we read. Neither says which part of a presented key was wrong.
    """

    code = "unauthorized"
    cause = Cause.UNAUTHORIZED

    def __init__(
        self, reason: str, *, invalid_token: bool = False, malformed: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invalid_token = invalid_token
        self.malformed = malformed


class ExportForbidden(Rejected):
    """The API key may not use this export."""

    code = "export-forbidden"
    cause = Cause.FORBIDDEN

    def __init__(self, key_id: str, export: str) -> None:
        super().__init__(f"API key {key_id!r} may not use export {export!r}")
        self.key_id = key_id
        self.export = export


class CsrfRefused(Rejected):
    """A browser session's request that changes state lacks its CSRF token or comes from
    another origin."""

    code = "csrf-refused"
    cause = Cause.FORBIDDEN

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownJob(Rejected):
    """No job has this id (or it belongs to someone else)."""

    code = "unknown-job"
    cause = Cause.UNKNOWN_JOB

    def __init__(self, job_id: str) -> None:
        super().__init__(f"unknown job {job_id!r}")
        self.job_id = job_id


class JobFileUnavailable(Rejected):
    """A job's file cannot be downloaded."""

    def __init__(self, job_id: str, reason: str) -> None:
        super().__init__(f"job {job_id}: {reason}")
        self.job_id = job_id
        self.reason = reason


class JobFilePending(JobFileUnavailable):
    """The job has not written its file (yet, or ever)."""

    code = "job-file-pending"
    cause = Cause.JOB_FILE_PENDING


class JobFileGone(JobFileUnavailable):
    """The job's file existed and was removed (expired or deleted)."""

    code = "job-file-gone"
    cause = Cause.JOB_FILE_GONE


class UnknownJobFile(JobFileUnavailable):
    """A download URL names a file the job does not have (``/download/{filename}``)."""

    code = "unknown-job-file"
    cause = Cause.UNKNOWN_JOB


class DatabaseUnavailable(RetryLater):
    """No database connection could be had (server down or unreachable)."""

    code = "database-unavailable"
    cause = Cause.DATABASE_UNAVAILABLE
    costs_attempt = True

    def __init__(self, reason: str, *, retry_after_s: int = 1) -> None:
        super().__init__(reason, retry_after_s=retry_after_s)
        self.reason = reason


class PoolExhausted(DatabaseUnavailable):
    """The database is fine but every pooled connection stayed busy."""

    costs_attempt = False


class DatabaseLost(DatabaseUnavailable):
    """The connection died under a running export (server restart, network cut)."""

    cause = Cause.DATABASE_LOST


class RateLimited(RetryLater):
    """The API key sent more requests than its rate allows."""

    code = "rate-limited"
    cause = Cause.RATE_LIMITED

    def __init__(self, key_id: str, requests_per_minute: int, retry_after_s: int) -> None:
        super().__init__(
            f"API key {key_id!r} is limited to {requests_per_minute} requests per minute; "
            f"retry in {retry_after_s} s",
            retry_after_s=retry_after_s,
        )
        self.key_id = key_id
        self.requests_per_minute = requests_per_minute


class TooManyConcurrentExports(RetryLater):
    """The API key already runs as many exports as it may at once."""

    code = "too-many-concurrent-exports"
    cause = Cause.TOO_MANY_CONCURRENT_EXPORTS

    def __init__(self, key_id: str, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"API key {key_id!r} already runs {limit} exports at once (its limit)",
            retry_after_s=retry_after_s,
        )
        self.key_id = key_id
        self.limit = limit


class ServerBusy(RetryLater):
    """This replica already runs as many exports as it may at once."""

    code = "server-busy"
    cause = Cause.SERVER_BUSY

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"the server already runs {limit} exports at once (its limit)",
            retry_after_s=retry_after_s,
        )
        self.limit = limit


class QueryFailed(ExportFailed):
    """PostgreSQL failed the export's query."""

    code = "query-failed"
    cause = Cause.QUERY_ERROR

    def __init__(self, export: str, reason: str, *, sqlstate: str | None = None) -> None:
        super().__init__(f"export {export!r}: {reason}")
        self.export = export
        self.reason = reason
        self.sqlstate = sqlstate


class QueryTimeout(QueryFailed):
    """PostgreSQL ended the query at a time limit (statement or idle in transaction)."""

    cause = Cause.TIMEOUT


class EncodingFailed(ExportFailed):
    """A value could not be represented in the asked format."""

    code = "export-failed"
    cause = Cause.ENCODING

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"column {column!r}: {reason}")
        self.column = column
        self.reason = reason


class CopyOutputInvalid(ExportFailed):
    """COPY's output could not be read back as the export's rows (never the data's fault)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"COPY output: {reason}")
        self.reason = reason


class ExportCapExceeded(ExportFailed):
    """The export produced more than its declared ``max_rows`` or ``max_bytes``."""

    code = "export-failed"
    cause = Cause.CAP_EXCEEDED

    def __init__(self, export: str, cap: str, limit: int) -> None:
        super().__init__(f"export {export!r} exceeded its {cap} of {limit:,}")
        self.export = export
        self.cap = cap
        self.limit = limit
