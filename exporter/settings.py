"""Service settings: one frozen value built from the environment, the only reader of os.environ.

Every setting carries its environment variable, default and help text, so the README table and
``exporter settings`` are generated from this one place.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from exporter.compression import CODECS
from exporter.encoders import FORMATS
from exporter.errors import ConfigError
from exporter.units import parse_duration_s

KIB = 1024
MIB = 1024 * KIB
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _parse_int(raw: str) -> int:
    return int(raw.replace("_", ""))


def _parse_optional_str(raw: str) -> str | None:
    return raw or None


def _parse_optional_int(raw: str) -> int | None:
    return _parse_int(raw) if raw else None


def _parse_optional_path(raw: str) -> Path | None:
    return Path(raw) if raw else None


class AuthMode(StrEnum):
    """``EXPORTER_AUTH``: on when keys are configured (auto), always, or never."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class LogFormat(StrEnum):
    """``EXPORTER_LOG_FORMAT``: text on a terminal and JSON otherwise (auto), or either."""

    AUTO = "auto"
    JSON = "json"
    TEXT = "text"


def _parse_names(raw: str) -> tuple[str, ...]:
    """A comma-separated list; ``none`` (or nothing) is the empty list."""
    names = tuple(name.strip().lower() for name in raw.split(",") if name.strip())
    return () if names == ("none",) else names


def _setting(
    default: Any,
    env: str,
    help: str,
    parse: Callable[[str], Any] = str,
    *,
    check: Callable[[Any], str | None] | None = None,
    secret: bool = False,
) -> Any:
    """A setting: its variable, help text, how its text is parsed, and what it must be
    (``check`` returns why a value is unusable, or None). A ``secret`` stays out of the
    settings' repr, so a logged or printed Settings never shows it."""
    metadata = {"env": env, "help": help, "parse": parse, "check": check}
    return field(default=default, repr=not secret, metadata=metadata)


def _positive(value: int) -> str | None:
    return None if value > 0 else "must be a positive integer"


def _positive_or_unset(value: int | None) -> str | None:
    return None if value is None or value > 0 else "must be a positive integer (or unset)"


def _positive_duration(value: float) -> str | None:
    return None if value > 0 else "must be a positive duration"


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def _octal_mode(value: str) -> str | None:
    valid = re.fullmatch(r"0?[0-7]{3}", value)
    return None if valid else "must be an octal file mode such as 0600 or 0640"


def _long_enough_secret(value: str | None) -> str | None:
    return None if value is None or len(value) >= 32 else "must be at least 32 characters"


_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:]+\](:[0-9]{1,5})?")


def _exact_origins(values: tuple[str, ...]) -> str | None:
    inexact = [value for value in values if not _ORIGIN.fullmatch(value)]
    if inexact:
        return (
            f"expected exact origins like https://bi.example.com (scheme, host, port; no path, "
            f"no wildcard), not {', '.join(inexact)}"
        )
    return None


def _plain_identifier(value: str) -> str | None:
    valid = _IDENTIFIER.fullmatch(value)
    return None if valid else "must be a plain lower-case SQL identifier"


def _one_of(choices: type[StrEnum]) -> Callable[[str], str | None]:
    names = [choice.value for choice in choices]

    def check(value: str) -> str | None:
        return None if value in names else f"must be one of {', '.join(names)}, not {value!r}"

    return check


def _distinct_names_from(known: Iterable[str]) -> Callable[[tuple[str, ...]], str | None]:
    known = tuple(known)

    def check(values: tuple[str, ...]) -> str | None:
        unknown = [value for value in values if value not in known]
        if unknown or len(set(values)) != len(values):
            return f"expected distinct names from {', '.join(known)}"
        return None

    return check


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the service can be configured with; build it with ``Settings.from_env``."""

    database_url: str | None = _setting(
        None,
        "DATABASE_URL",
        "PostgreSQL to export from. Unset: `exporter serve` starts an embedded PostgreSQL.",
        _parse_optional_str,
    )
    read_database_url: str | None = _setting(
        None,
        "EXPORTER_READ_DATABASE_URL",
        "A hot standby of DATABASE_URL that exports read from. Job state, migrations, the "
        "catalog's description and incremental pulls stay on DATABASE_URL. Unset: DATABASE_URL.",
        _parse_optional_str,
    )
    sql_dir: Path = _setting(
        Path("sql/exports"), "EXPORTER_SQL_DIR", "Directory of export definitions (*.sql).", Path
    )
    host: str = _setting("127.0.0.1", "EXPORTER_HOST", "Address `exporter serve` binds.")
    port: int = _setting(
        8000, "EXPORTER_PORT", "Port `exporter serve` binds.", _parse_int, check=_positive
    )
    timezone: str = _setting(
        "UTC", "EXPORTER_TIMEZONE", "Session TimeZone: how timestamptz values are printed."
    )
    application_name: str = _setting(
        "exporter",
        "EXPORTER_APPLICATION_NAME",
        "application_name of the service's connections (visible in pg_stat_activity).",
    )
    fetch_rows: int = _setting(
        1_000,
        "EXPORTER_FETCH_ROWS",
        "Default rows fetched per cursor round trip (a request may ask for fetch_rows=N).",
        _parse_int,
        check=_positive,
    )
    first_fetch_rows: int = _setting(
        1_000,
        "EXPORTER_FIRST_FETCH_ROWS",
        "Rows of the first round trip (at most fetch_rows): keeps the time to first byte short.",
        _parse_int,
        check=_positive,
    )
    fetch_rows_min: int = _setting(
        100,
        "EXPORTER_FETCH_ROWS_MIN",
        "Smallest fetch_rows a request may ask for: tiny round trips multiply the server's CPU "
        "per row (fetch_rows=1 costs ~186x on CSV).",
        _parse_int,
        check=_positive,
    )
    fetch_rows_max: int = _setting(
        100_000,
        "EXPORTER_FETCH_ROWS_MAX",
        "Largest fetch_rows a request may ask for.",
        _parse_int,
        check=_positive,
    )
    limit_max: int = _setting(
        1_000_000,
        "EXPORTER_LIMIT_MAX",
        "Largest limit=N a request may ask for (a larger one is refused with 422).",
        _parse_int,
        check=_positive,
    )
    param_value_max_bytes: int = _setting(
        64 * KIB,
        "EXPORTER_PARAM_VALUE_MAX_BYTES",
        "Longest parameter value (UTF-8 bytes) a request or job may give; longer ones get 422.",
        _parse_int,
        check=_positive,
    )
    request_body_max_bytes: int = _setting(
        1 * MIB,
        "EXPORTER_REQUEST_BODY_MAX_BYTES",
        "Largest request body read (a job submission); larger ones get 413 unread.",
        _parse_int,
        check=_positive,
    )
    chunk_bytes: int = _setting(
        256 * KIB,
        "EXPORTER_CHUNK_BYTES",
        "Default encoded bytes per HTTP chunk (a request may ask for chunk_bytes=N).",
        _parse_int,
        check=_positive,
    )
    chunk_bytes_max: int = _setting(
        16 * MIB,
        "EXPORTER_CHUNK_BYTES_MAX",
        "Largest chunk_bytes a request may ask for.",
        _parse_int,
        check=_positive,
    )
    copy_block_bytes: int = _setting(
        1 * MIB,
        "EXPORTER_COPY_BLOCK_BYTES",
        "NDJSON/Arrow/Parquet from COPY: bytes of CSV gathered before a block is parsed and "
        "encoded (one batch; bounds the memory of one export with the row group).",
        _parse_int,
        check=_positive,
    )
    parquet_row_group_rows: int = _setting(
        65_536,
        "EXPORTER_PARQUET_ROW_GROUP_ROWS",
        "Rows buffered per Parquet row group (bounds Parquet's memory per export).",
        _parse_int,
        check=_positive,
    )
    parquet_row_group_bytes: int = _setting(
        64 * MIB,
        "EXPORTER_PARQUET_ROW_GROUP_BYTES",
        "Arrow bytes buffered per Parquet row group: a group closes at this size even before "
        "its rows are reached (bounds Parquet's memory per export whatever the rows' width).",
        _parse_int,
        check=_positive,
    )
    encode_threads: int = _setting(
        2,
        "EXPORTER_ENCODE_THREADS",
        "Exports encoding at the same time (worker threads); more only adds GIL contention. "
        "Also bounds the large response chunks being compressed at once (in other threads).",
        _parse_int,
        check=_positive,
    )
    compression: tuple[str, ...] = _setting(
        ("zstd", "br", "gzip"),
        "EXPORTER_COMPRESSION",
        "Content codings offered to clients that send Accept-Encoding, preferred first when "
        "the client accepts several equally (none: never compress).",
        _parse_names,
        check=_distinct_names_from(CODECS),
    )
    compress_formats: tuple[str, ...] = _setting(
        ("csv", "ndjson", "json"),
        "EXPORTER_COMPRESS_FORMATS",
        "Formats compressed whenever the client accepts a coding; the others only when the "
        "request says compress=always.",
        _parse_names,
        check=_distinct_names_from(FORMATS),
    )
    compress_min_bytes: int = _setting(
        1024,
        "EXPORTER_COMPRESS_MIN_BYTES",
        "JSON responses (catalog, OpenAPI) smaller than this go out uncompressed; exports are "
        "compressed whatever their size.",
        _parse_int,
        check=_not_negative,
    )
    pool_min_size: int = _setting(
        1, "EXPORTER_POOL_MIN_SIZE", "Connections the pool keeps open.", _parse_int
    )
    pool_max_size: int = _setting(
        10,
        "EXPORTER_POOL_MAX_SIZE",
        "Most connections, hence most exports running at once.",
        _parse_int,
        check=_positive,
    )
    data_dir: Path = _setting(
        Path(".data"),
        "EXPORTER_DATA_DIR",
        "Where the embedded PostgreSQL keeps its data (only used without DATABASE_URL).",
        Path,
    )
    pool_acquire_timeout_s: float = _setting(
        2.0,
        "EXPORTER_POOL_ACQUIRE_TIMEOUT",
        "How long a request waits for a free connection before it gets 503 + Retry-After.",
        parse_duration_s,
        check=_positive_duration,
    )
    statement_timeout_s: float = _setting(
        300.0,
        "EXPORTER_STATEMENT_TIMEOUT",
        "PostgreSQL statement_timeout for each cursor round trip (0: none). An export may set "
        "its own with '-- statement_timeout: 30s'.",
        parse_duration_s,
        check=_not_negative,
    )
    max_export_duration_s: float = _setting(
        6 * 3600.0,
        "EXPORTER_MAX_EXPORT_DURATION",
        "Longest an export may stream, first row to last, before it is aborted (0: no limit).",
        parse_duration_s,
        check=_not_negative,
    )
    client_write_timeout_s: float = _setting(
        120.0,
        "EXPORTER_CLIENT_WRITE_TIMEOUT",
        "Longest a client may take to accept one chunk before the export is aborted.",
        parse_duration_s,
        check=_positive_duration,
    )
    shutdown_grace_s: float = _setting(
        30.0,
        "EXPORTER_SHUTDOWN_GRACE",
        "On SIGTERM: how long running exports may take to finish before they are aborted.",
        parse_duration_s,
        check=_not_negative,
    )
    jobs_database_url: str | None = _setting(
        None,
        "EXPORTER_JOBS_DATABASE_URL",
        "PostgreSQL holding the job table (it needs write access). Unset: DATABASE_URL.",
        _parse_optional_str,
    )
    jobs_schema: str = _setting(
        "exporter",
        "EXPORTER_JOBS_SCHEMA",
        "Schema the service creates and migrates for its job table.",
        check=_plain_identifier,
    )
    jobs_dir: Path = _setting(
        Path(".data/jobs"),
        "EXPORTER_JOBS_DIR",
        "Where job files are written; replicas sharing one database must share this directory.",
        Path,
    )
    file_mode: str = _setting(
        "0600",
        "EXPORTER_FILE_MODE",
        "Permissions (octal) of new job files and `exporter export` outputs; a replaced file "
        "keeps its own mode and owner.",
        check=_octal_mode,
    )
    jobs_concurrency: int = _setting(
        2,
        "EXPORTER_JOBS_CONCURRENCY",
        "Jobs one replica runs at once; the rest wait queued (0: this replica runs no jobs).",
        _parse_int,
        check=_not_negative,
    )
    job_lease_s: float = _setting(
        30.0,
        "EXPORTER_JOB_LEASE",
        "A running job whose worker has not renewed its lease for this long is taken as dead: "
        "it is queued again (or failed after the last attempt).",
        parse_duration_s,
        check=_positive_duration,
    )
    job_heartbeat_s: float = _setting(
        1.0,
        "EXPORTER_JOB_HEARTBEAT",
        "How often a worker records progress, renews its lease and checks for cancellation.",
        parse_duration_s,
        check=_positive_duration,
    )
    job_max_attempts: int = _setting(
        3,
        "EXPORTER_JOB_MAX_ATTEMPTS",
        "Attempts a job gets when its worker dies or the database goes away mid-job.",
        _parse_int,
        check=_positive,
    )
    job_file_ttl_s: float = _setting(
        24 * 3600.0,
        "EXPORTER_JOB_FILE_TTL",
        "How long a finished job's file is kept; after that downloads answer 410.",
        parse_duration_s,
        check=_positive_duration,
    )
    job_connection_wait_s: float = _setting(
        600.0,
        "EXPORTER_JOB_CONNECTION_WAIT",
        "How long a job may keep finding every pool connection busy (streams hold them) before "
        "it fails visibly instead of waiting on in the queue.",
        parse_duration_s,
        check=_positive_duration,
    )
    jobs_poll_s: float = _setting(
        1.0,
        "EXPORTER_JOBS_POLL",
        "How often an idle worker looks for queued jobs (a job submitted to the same replica "
        "starts at once).",
        parse_duration_s,
        check=_positive_duration,
    )
    auth: AuthMode = _setting(
        AuthMode.AUTO,
        "EXPORTER_AUTH",
        "API key authentication: auto (on when keys are configured), on, or off. auto without "
        "keys is off only on the embedded demo; with DATABASE_URL the service refuses to start.",
        str.lower,
        check=_one_of(AuthMode),
    )
    keys_file: Path | None = _setting(
        None,
        "EXPORTER_KEYS_FILE",
        "TOML file of API keys (`exporter keys new` prints entries for it).",
        _parse_optional_path,
    )
    api_key_sha256: str | None = _setting(
        None,
        "EXPORTER_API_KEY_SHA256",
        "One more API key, as '<key id>:<sha256 hex of the token>' (all exports, default limits).",
        _parse_optional_str,
    )
    key_requests_per_minute: int = _setting(
        120,
        "EXPORTER_KEY_REQUESTS_PER_MINUTE",
        "Requests a key may make per minute (token bucket), unless its entry sets its own.",
        _parse_int,
        check=_positive,
    )
    key_burst: int = _setting(
        20,
        "EXPORTER_KEY_BURST",
        "Requests a key may make at once before the per-minute rate applies (bucket size).",
        _parse_int,
        check=_positive,
    )
    key_concurrent_exports: int = _setting(
        4,
        "EXPORTER_KEY_CONCURRENT_EXPORTS",
        "Exports a key may run at once on one replica, unless its entry sets its own.",
        _parse_int,
        check=_positive,
    )
    max_concurrent_exports: int | None = _setting(
        None,
        "EXPORTER_MAX_CONCURRENT_EXPORTS",
        "Exports one replica runs at once, over all keys; beyond it 503. Unset: "
        "EXPORTER_POOL_MAX_SIZE.",
        _parse_optional_int,
        check=_positive_or_unset,
    )
    watermark_secret: str | None = _setting(
        None,
        "EXPORTER_WATERMARK_SECRET",
        "Key that signs incremental pulls' Exporter-Watermark tokens (at least 32 characters). "
        "Unset: random per process, so tokens stop working when the service restarts and are "
        "refused by other replicas: set it.",
        _parse_optional_str,
        check=_long_enough_secret,
        secret=True,
    )
    cors_origins: tuple[str, ...] = _setting(
        (),
        "EXPORTER_CORS_ORIGINS",
        "Browser origins (https://host[:port], comma-separated) whose pages may call the API "
        "from JavaScript (CORS); none: off. Exact origins only, no wildcard; requests still "
        "need their API key.",
        _parse_names,
        check=_exact_origins,
    )
    session_secret: str | None = _setting(
        None,
        "EXPORTER_SESSION_SECRET",
        "Key that signs the web pages' session cookies (at least 32 characters). Unset: random "
        "per process, so sessions end when the service restarts and differ between replicas.",
        _parse_optional_str,
        check=_long_enough_secret,
        secret=True,
    )
    session_ttl_s: float = _setting(
        8 * 3600.0,
        "EXPORTER_SESSION_TTL",
        "How long a web page session (signed in with an API key) lasts.",
        parse_duration_s,
        check=_positive_duration,
    )
    log_format: LogFormat = _setting(
        LogFormat.AUTO,
        "EXPORTER_LOG_FORMAT",
        "Log lines: json (one object per line), text, or auto (text on a terminal, else json).",
        str.lower,
        check=_one_of(LogFormat),
    )
    demo_orders: int = _setting(
        1_000_000,
        "EXPORTER_DEMO_ORDERS",
        "Orders generated into the embedded PostgreSQL on its first start.",
        _parse_int,
    )

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            check = spec.metadata["check"]
            reason = check(getattr(self, spec.name)) if check else None
            if reason:
                raise ConfigError(spec.name, reason)
        # Parsed as text (a check names the field, not the variable); held as the enum.
        object.__setattr__(self, "auth", AuthMode(self.auth))
        object.__setattr__(self, "log_format", LogFormat(self.log_format))
        # Constraints between settings:
        if self.job_heartbeat_s * 3 > self.job_lease_s:
            # A lease must survive a missed heartbeat or two (a slow database round trip).
            raise ConfigError("job_heartbeat_s", "must be at most a third of job_lease_s")
        if self.pool_min_size < 0 or self.pool_min_size > self.pool_max_size:
            raise ConfigError("pool_min_size", "must be between 0 and pool_max_size")
        if self.fetch_rows > self.fetch_rows_max:
            raise ConfigError("fetch_rows", f"must not exceed fetch_rows_max={self.fetch_rows_max}")
        if self.fetch_rows_min > self.fetch_rows:
            raise ConfigError("fetch_rows_min", f"must not exceed fetch_rows={self.fetch_rows}")
        if self.chunk_bytes > self.chunk_bytes_max:
            raise ConfigError(
                "chunk_bytes", f"must not exceed chunk_bytes_max={self.chunk_bytes_max}"
            )

    @property
    def replica_export_limit(self) -> int:
        """Exports this process runs at once (``max_concurrent_exports``, else the pool size)."""
        return self.max_concurrent_exports or self.pool_max_size

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from an environment mapping; ``overrides`` win over it."""
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            raw = environ.get(spec.metadata["env"])
            if raw is None:
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw.strip())
            except ValueError as exc:
                raise ConfigError(spec.metadata["env"], f"cannot parse {raw!r}: {exc}") from exc
        values.update(overrides)
        return cls(**values)

    @property
    def read_dsn(self) -> str | None:
        """The database exports read from."""
        return self.read_database_url or self.database_url

    @property
    def file_mode_bits(self) -> int:
        """``file_mode`` as permission bits."""
        return int(self.file_mode, 8)

    @property
    def jobs_dsn(self) -> str | None:
        """The database of the job table."""
        return self.jobs_database_url or self.database_url


def describe_settings() -> Iterator[tuple[str, str, str]]:
    """Yield (environment variable, default, help) for every setting, in declaration order."""
    for spec in dataclasses.fields(Settings):
        yield spec.metadata["env"], _describe_default(spec.default), spec.metadata["help"]


def _describe_default(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "none"
    return str(value)
