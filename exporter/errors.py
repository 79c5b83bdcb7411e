"""The exporter's error tree. Errors carry data; only ``exporter.api`` maps them to HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class ExporterError(Exception):
    """Root of every error the exporter raises on purpose."""


class ConfigError(ExporterError):
    """A setting has a value the exporter cannot use."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"setting {name}: {reason}")
        self.name = name
        self.reason = reason


class CatalogError(ExporterError):
    """An export definition file is malformed; names the file and line."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


class UnknownExport(ExporterError):
    """No export has this name."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown export {name!r}")
        self.name = name
        self.known = tuple(known)


class UnsupportedFormat(ExporterError):
    """The asked format (by name or media type) is not one we produce."""

    def __init__(self, asked: str, supported: Sequence[str]) -> None:
        super().__init__(f"unsupported format {asked!r}; supported: {', '.join(supported)}")
        self.asked = asked
        self.supported = tuple(supported)


class UnacceptableEncoding(ExporterError):
    """``Accept-Encoding`` refuses identity and every content coding we offer."""

    def __init__(self, asked: str, offered: Sequence[str]) -> None:
        offers = ", ".join(offered) or "none (compression is off)"
        super().__init__(
            f"Accept-Encoding {asked!r} refuses an uncompressed response and every coding "
            f"offered: {offers}"
        )
        self.asked = asked
        self.offered = tuple(offered)


class InvalidParameter(ExporterError):
    """A request parameter is missing, unknown, repeated or has a bad value."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"parameter {name!r}: {reason}")
        self.name = name
        self.reason = reason


class DatabaseUnavailable(ExporterError):
    """No database connection could be had (server down, pool exhausted).

    ``pool_exhausted``: the database is fine but every pooled connection is busy.
    """

    def __init__(
        self, reason: str, *, retry_after_s: int = 1, pool_exhausted: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.pool_exhausted = pool_exhausted


class QueryFailed(ExporterError):
    """PostgreSQL rejected the export's query before any row was produced."""

    def __init__(self, export: str, reason: str, *, sqlstate: str | None = None) -> None:
        super().__init__(f"export {export!r}: {reason}")
        self.export = export
        self.reason = reason
        self.sqlstate = sqlstate


class EncodingFailed(ExporterError):
    """A value could not be represented in the asked format."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"column {column!r}: {reason}")
        self.column = column
        self.reason = reason


class CopyOutputInvalid(ExporterError):
    """COPY's output could not be read back as the export's rows (never the data's fault)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"COPY output: {reason}")
        self.reason = reason


class UnknownJob(ExporterError):
    """No job has this id (or it belongs to someone else)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"unknown job {job_id!r}")
        self.job_id = job_id


class JobFileUnavailable(ExporterError):
    """A job's file cannot be downloaded: not written yet, never written, or removed.

    ``gone`` says it existed and was removed (expired or deleted), as opposed to not (yet).
    """

    def __init__(self, job_id: str, reason: str, *, gone: bool) -> None:
        super().__init__(f"job {job_id}: {reason}")
        self.job_id = job_id
        self.reason = reason
        self.gone = gone


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


class NotAuthenticated(ExporterError):
    """The request carries no usable API key.

    ``invalid_token``: a key was sent but is unknown or wrong; ``malformed``: the credentials
    header is not one we read. Neither says which part of a presented key was wrong.
    """

    def __init__(
        self, reason: str, *, invalid_token: bool = False, malformed: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invalid_token = invalid_token
        self.malformed = malformed


class ExportForbidden(ExporterError):
    """The API key may not use this export."""

    def __init__(self, key_id: str, export: str) -> None:
        super().__init__(f"API key {key_id!r} may not use export {export!r}")
        self.key_id = key_id
        self.export = export


class RateLimited(ExporterError):
    """The API key sent more requests than its rate allows."""

    def __init__(self, key_id: str, requests_per_minute: int, retry_after_s: int) -> None:
        super().__init__(
            f"API key {key_id!r} is limited to {requests_per_minute} requests per minute; "
            f"retry in {retry_after_s} s"
        )
        self.key_id = key_id
        self.requests_per_minute = requests_per_minute
        self.retry_after_s = retry_after_s


class TooManyConcurrentExports(ExporterError):
    """The API key already runs as many exports as it may at once."""

    def __init__(self, key_id: str, limit: int, retry_after_s: int) -> None:
        super().__init__(f"API key {key_id!r} already runs {limit} exports at once (its limit)")
        self.key_id = key_id
        self.limit = limit
        self.retry_after_s = retry_after_s


class ServerBusy(ExporterError):
    """This replica already runs as many exports as it may at once."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(f"the server already runs {limit} exports at once (its limit)")
        self.limit = limit
        self.retry_after_s = retry_after_s


class ExportCapExceeded(ExporterError):
    """The export produced more than its declared ``max_rows`` or ``max_bytes``."""

    def __init__(self, export: str, cap: str, limit: int) -> None:
        super().__init__(f"export {export!r} exceeded its {cap} of {limit:,}")
        self.export = export
        self.cap = cap
        self.limit = limit
