"""Service settings: one frozen value built from the environment, the only reader of os.environ.

Every setting carries its environment variable, default and help text, so the README table and
``exporter settings`` are generated from this one place.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.compression import CODECS
from exporter.durations import parse_duration_s
from exporter.encoders import FORMATS
from exporter.errors import ConfigError
from exporter.logs import LOG_FORMATS

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


#: ``EXPORTER_AUTH`` values: on when keys are configured (auto), always, or never.
AUTH_MODES = ("auto", "on", "off")


def _parse_names(raw: str) -> tuple[str, ...]:
    """A comma-separated list; ``none`` (or nothing) is the empty list."""
    names = tuple(name.strip().lower() for name in raw.split(",") if name.strip())
    return () if names == ("none",) else names


def _setting(
    default: Any, env: str, help: str, parse: Callable[[str], Any] = str, *, secret: bool = False
) -> Any:
    # A secret stays out of the settings' repr, so a logged or printed Settings never shows it.
    return field(
        default=default, repr=not secret, metadata={"env": env, "help": help, "parse": parse}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the service can be configured with; build it with ``Settings.from_env``."""

    database_url: str | None = _setting(
        None,
        "DATABASE_URL",
        "PostgreSQL to export from. Unset: `exporter serve` starts an embedded PostgreSQL.",
        _parse_optional_str,
    )
    sql_dir: Path = _setting(
        Path("sql/exports"), "EXPORTER_SQL_DIR", "Directory of export definitions (*.sql).", Path
    )
    host: str = _setting("127.0.0.1", "EXPORTER_HOST", "Address `exporter serve` binds.")
    port: int = _setting(8000, "EXPORTER_PORT", "Port `exporter serve` binds.", _parse_int)
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
    )
    first_fetch_rows: int = _setting(
        1_000,
        "EXPORTER_FIRST_FETCH_ROWS",
        "Rows of the first round trip (at most fetch_rows): keeps the time to first byte short.",
        _parse_int,
    )
    fetch_rows_max: int = _setting(
        100_000, "EXPORTER_FETCH_ROWS_MAX", "Largest fetch_rows a request may ask for.", _parse_int
    )
    chunk_bytes: int = _setting(
        256 * KIB,
        "EXPORTER_CHUNK_BYTES",
        "Default encoded bytes per HTTP chunk (a request may ask for chunk_bytes=N).",
        _parse_int,
    )
    chunk_bytes_max: int = _setting(
        16 * MIB,
        "EXPORTER_CHUNK_BYTES_MAX",
        "Largest chunk_bytes a request may ask for.",
        _parse_int,
    )
    copy_block_bytes: int = _setting(
        1 * MIB,
        "EXPORTER_COPY_BLOCK_BYTES",
        "NDJSON/Arrow/Parquet from COPY: bytes of CSV gathered before a block is parsed and "
        "encoded (one batch; bounds the memory of one export with the row group).",
        _parse_int,
    )
    parquet_row_group_rows: int = _setting(
        65_536,
        "EXPORTER_PARQUET_ROW_GROUP_ROWS",
        "Rows buffered per Parquet row group (bounds Parquet's memory per export).",
        _parse_int,
    )
    encode_threads: int = _setting(
        2,
        "EXPORTER_ENCODE_THREADS",
        "Exports encoding at the same time (worker threads); more only adds GIL contention. "
        "Also bounds the large response chunks being compressed at once (in other threads).",
        _parse_int,
    )
    compression: tuple[str, ...] = _setting(
        ("zstd", "br", "gzip"),
        "EXPORTER_COMPRESSION",
        "Content codings offered to clients that send Accept-Encoding, preferred first when "
        "the client accepts several equally (none: never compress).",
        _parse_names,
    )
    compress_formats: tuple[str, ...] = _setting(
        ("csv", "ndjson"),
        "EXPORTER_COMPRESS_FORMATS",
        "Formats compressed whenever the client accepts a coding; the others only when the "
        "request says compress=always.",
        _parse_names,
    )
    compress_min_bytes: int = _setting(
        1024,
        "EXPORTER_COMPRESS_MIN_BYTES",
        "JSON responses (catalog, OpenAPI) smaller than this go out uncompressed; exports are "
        "compressed whatever their size.",
        _parse_int,
    )
    pool_min_size: int = _setting(
        1, "EXPORTER_POOL_MIN_SIZE", "Connections the pool keeps open.", _parse_int
    )
    pool_max_size: int = _setting(
        10,
        "EXPORTER_POOL_MAX_SIZE",
        "Most connections, hence most exports running at once.",
        _parse_int,
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
    )
    statement_timeout_s: float = _setting(
        300.0,
        "EXPORTER_STATEMENT_TIMEOUT",
        "PostgreSQL statement_timeout for each cursor round trip (0: none). An export may set "
        "its own with '-- statement_timeout: 30s'.",
        parse_duration_s,
    )
    max_export_duration_s: float = _setting(
        6 * 3600.0,
        "EXPORTER_MAX_EXPORT_DURATION",
        "Longest an export may stream, first row to last, before it is aborted (0: no limit).",
        parse_duration_s,
    )
    client_write_timeout_s: float = _setting(
        120.0,
        "EXPORTER_CLIENT_WRITE_TIMEOUT",
        "Longest a client may take to accept one chunk before the export is aborted.",
        parse_duration_s,
    )
    shutdown_grace_s: float = _setting(
        30.0,
        "EXPORTER_SHUTDOWN_GRACE",
        "On SIGTERM: how long running exports may take to finish before they are aborted.",
        parse_duration_s,
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
    )
    jobs_dir: Path = _setting(
        Path(".data/jobs"),
        "EXPORTER_JOBS_DIR",
        "Where job files are written; replicas sharing one database must share this directory.",
        Path,
    )
    jobs_concurrency: int = _setting(
        2,
        "EXPORTER_JOBS_CONCURRENCY",
        "Jobs one replica runs at once; the rest wait queued (0: this replica runs no jobs).",
        _parse_int,
    )
    job_lease_s: float = _setting(
        30.0,
        "EXPORTER_JOB_LEASE",
        "A running job whose worker has not renewed its lease for this long is taken as dead: "
        "it is queued again (or failed after the last attempt).",
        parse_duration_s,
    )
    job_heartbeat_s: float = _setting(
        1.0,
        "EXPORTER_JOB_HEARTBEAT",
        "How often a worker records progress, renews its lease and checks for cancellation.",
        parse_duration_s,
    )
    job_max_attempts: int = _setting(
        3,
        "EXPORTER_JOB_MAX_ATTEMPTS",
        "Attempts a job gets when its worker dies or the database goes away mid-job.",
        _parse_int,
    )
    job_file_ttl_s: float = _setting(
        24 * 3600.0,
        "EXPORTER_JOB_FILE_TTL",
        "How long a finished job's file is kept; after that downloads answer 410.",
        parse_duration_s,
    )
    job_connection_wait_s: float = _setting(
        600.0,
        "EXPORTER_JOB_CONNECTION_WAIT",
        "How long a job may keep finding every pool connection busy (streams hold them) before "
        "it fails visibly instead of waiting on in the queue.",
        parse_duration_s,
    )
    jobs_poll_s: float = _setting(
        1.0,
        "EXPORTER_JOBS_POLL",
        "How often an idle worker looks for queued jobs (a job submitted to the same replica "
        "starts at once).",
        parse_duration_s,
    )
    auth: str = _setting(
        "auto",
        "EXPORTER_AUTH",
        "API key authentication: auto (on when keys are configured), on, or off. auto without "
        "keys is off only on the embedded demo; with DATABASE_URL the service refuses to start.",
        str.lower,
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
    )
    key_burst: int = _setting(
        20,
        "EXPORTER_KEY_BURST",
        "Requests a key may make at once before the per-minute rate applies (bucket size).",
        _parse_int,
    )
    key_concurrent_exports: int = _setting(
        4,
        "EXPORTER_KEY_CONCURRENT_EXPORTS",
        "Exports a key may run at once on one replica, unless its entry sets its own.",
        _parse_int,
    )
    max_concurrent_exports: int | None = _setting(
        None,
        "EXPORTER_MAX_CONCURRENT_EXPORTS",
        "Exports one replica runs at once, over all keys; beyond it 503. Unset: "
        "EXPORTER_POOL_MAX_SIZE.",
        _parse_optional_int,
    )
    session_secret: str | None = _setting(
        None,
        "EXPORTER_SESSION_SECRET",
        "Key that signs the web pages' session cookies (at least 32 characters). Unset: random "
        "per process, so sessions end when the service restarts and differ between replicas.",
        _parse_optional_str,
        secret=True,
    )
    session_ttl_s: float = _setting(
        8 * 3600.0,
        "EXPORTER_SESSION_TTL",
        "How long a web page session (signed in with an API key) lasts.",
        parse_duration_s,
    )
    log_format: str = _setting(
        "auto",
        "EXPORTER_LOG_FORMAT",
        "Log lines: json (one object per line), text, or auto (text on a terminal, else json).",
        str.lower,
    )
    demo_orders: int = _setting(
        1_000_000,
        "EXPORTER_DEMO_ORDERS",
        "Orders generated into the embedded PostgreSQL on its first start.",
        _parse_int,
    )

    def __post_init__(self) -> None:
        positive = (
            "port",
            "fetch_rows",
            "first_fetch_rows",
            "fetch_rows_max",
            "chunk_bytes",
            "chunk_bytes_max",
            "copy_block_bytes",
            "parquet_row_group_rows",
            "pool_max_size",
            "encode_threads",
            "job_max_attempts",
            "key_requests_per_minute",
            "key_burst",
            "key_concurrent_exports",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(name, "must be a positive integer")
        for name in (
            "pool_acquire_timeout_s",
            "client_write_timeout_s",
            "job_lease_s",
            "job_heartbeat_s",
            "job_file_ttl_s",
            "job_connection_wait_s",
            "jobs_poll_s",
            "session_ttl_s",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(name, "must be a positive duration")
        for name in ("statement_timeout_s", "max_export_duration_s", "shutdown_grace_s"):
            if getattr(self, name) < 0:
                raise ConfigError(name, "must not be negative")
        if self.jobs_concurrency < 0:
            raise ConfigError("jobs_concurrency", "must not be negative")
        if self.job_heartbeat_s * 3 > self.job_lease_s:
            # A lease must survive a missed heartbeat or two (a slow database round trip).
            raise ConfigError("job_heartbeat_s", "must be at most a third of job_lease_s")
        if not _IDENTIFIER.fullmatch(self.jobs_schema):
            raise ConfigError("jobs_schema", "must be a plain lower-case SQL identifier")
        if self.max_concurrent_exports is not None and self.max_concurrent_exports <= 0:
            raise ConfigError("max_concurrent_exports", "must be a positive integer (or unset)")
        if self.session_secret is not None and len(self.session_secret) < 32:
            raise ConfigError("session_secret", "must be at least 32 characters")
        if self.auth not in AUTH_MODES:
            raise ConfigError("auth", f"must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError("log_format", f"must be one of {', '.join(LOG_FORMATS)}")
        for name, known in (("compression", CODECS), ("compress_formats", FORMATS)):
            values = getattr(self, name)
            unknown = [value for value in values if value not in known]
            if unknown or len(set(values)) != len(values):
                raise ConfigError(name, f"expected distinct names from {', '.join(known)}")
        if self.compress_min_bytes < 0:
            raise ConfigError("compress_min_bytes", "must not be negative")
        if self.pool_min_size < 0 or self.pool_min_size > self.pool_max_size:
            raise ConfigError("pool_min_size", "must be between 0 and pool_max_size")
        if self.fetch_rows > self.fetch_rows_max:
            raise ConfigError("fetch_rows", f"must not exceed fetch_rows_max={self.fetch_rows_max}")
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
