"""What a benchmark run measures: sizes, sweep points, repetitions. Two presets: full and quick."""

from __future__ import annotations

from dataclasses import dataclass, replace

KIB = 1024
MIB = 1024 * KIB
#: Reported sizes are decimal megabytes (as MB/s usually is).
MB = 1_000_000

FORMATS = ("csv", "ndjson", "arrow", "parquet")
#: Formats the exporter takes from PostgreSQL's COPY unless the request sets fetch_rows (CSV as
#: is; Arrow and Parquet parsed from COPY's CSV, for exports without array columns, as here).
COPY_FORMATS = ("csv", "ndjson", "arrow", "parquet")
SUITES = ("headline", "sweep", "concurrency", "compression")
REFERENCES = ("psql", "naive", "adbc")
#: Formats the compression suite measures: the ones the service compresses by default.
COMPRESSED_FORMATS = ("csv", "ndjson")

#: The service's defaults; the sweeps cross at this point.
DEFAULT_FETCH_ROWS = 1_000
DEFAULT_CHUNK_BYTES = 256 * KIB


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """One benchmark run's shape; validated when built."""

    #: Rows of the headline table (every format and reference at the default settings).
    rows: int
    #: Rows of the data set the fetch_rows and chunk_bytes sweeps read (smaller: many points).
    sweep_rows: int
    #: Rows each client reads in the concurrency sweep (64 clients read 64 times this).
    concurrency_rows: int
    #: Undisturbed runs wanted per point.
    runs: int
    #: Extra attempts per point allowed to replace disturbed runs (0: keep whatever comes).
    retries: int
    formats: tuple[str, ...] = FORMATS
    suites: tuple[str, ...] = SUITES
    #: fetch_rows swept at chunk_bytes = DEFAULT_CHUNK_BYTES (the cursor path, every format).
    fetch_rows_points: tuple[int, ...] = (100, 1_000, 10_000, 50_000, 100_000)
    #: chunk_bytes swept with fetch_rows unset (the default path: COPY for CSV and NDJSON).
    chunk_bytes_points: tuple[int, ...] = (16 * KIB, 64 * KIB, 256 * KIB, 1 * MIB, 4 * MIB)
    concurrency_levels: tuple[int, ...] = (1, 4, 16, 64)
    #: Content codings the compression suite asks for (identity: none, the baseline), plain
    #: requests of the COMPRESSED_FORMATS on the sweep's data set.
    codings: tuple[str, ...] = ("identity", "gzip", "zstd", "br")
    #: Run the references (psql COPY, naive endpoint, ADBC) next to the headline table.
    references: tuple[str, ...] = REFERENCES
    #: A run is disturbed when processes other than ours used more than this many cores.
    disturbed_cores: float = 0.25
    #: The /healthz probe period.
    probe_interval_s: float = 0.1
    #: Sampling period of RSS and CPU (the spec asks for at most 20 ms).
    sample_period_s: float = 0.01
    #: Before each run, wait up to this long for a quiet moment (0: start at once).
    quiet_wait_s: float = 5.0
    #: Seconds the whole run may spend on retries: on a busy machine the time budget wins
    #: over clean data (the report lists the points that kept disturbed runs).
    retry_budget_s: float = 180.0
    #: A new server for every point, so each point's memory starts from the same fresh
    #: baseline (memory freed by an earlier export is often kept by the allocator). Off, one
    #: server per data set serves every point: much faster, for the quick run.
    fresh_server_per_point: bool = True

    def __post_init__(self) -> None:
        for name in ("rows", "sweep_rows", "concurrency_rows", "runs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        unknown = set(self.formats) - set(FORMATS)
        if unknown or not self.formats:
            raise ValueError(f"formats must be some of {FORMATS}, got {self.formats}")
        if set(self.suites) - set(SUITES) or not self.suites:
            raise ValueError(f"suites must be some of {SUITES}, got {self.suites}")
        if set(self.references) - set(REFERENCES):
            raise ValueError(f"unknown reference in {self.references}")
        if any(c < 1 for c in self.concurrency_levels) or not self.concurrency_levels:
            raise ValueError(f"concurrency levels must be >= 1, got {self.concurrency_levels}")
        if any(c < 1024 for c in self.chunk_bytes_points):
            raise ValueError("chunk_bytes below 1024 is refused by the service")
        if set(self.codings) - {"identity", "gzip", "zstd", "br"} or not self.codings:
            raise ValueError(f"codings must be some of identity, gzip, zstd, br: {self.codings}")
        if not 0 < self.sample_period_s <= 0.02:
            raise ValueError("sample_period_s must be in (0, 0.02]")

    @property
    def max_fetch_rows(self) -> int:
        return max((*self.fetch_rows_points, DEFAULT_FETCH_ROWS))

    @property
    def max_chunk_bytes(self) -> int:
        return max((*self.chunk_bytes_points, DEFAULT_CHUNK_BYTES))

    @property
    def max_clients(self) -> int:
        return max(self.concurrency_levels)

    def dataset_sizes(self) -> list[int]:
        """The data set sizes this plan reads, each generated once."""
        sizes = {self.rows} if "headline" in self.suites else set()
        if "sweep" in self.suites or "compression" in self.suites:
            sizes.add(self.sweep_rows)
        if "concurrency" in self.suites:
            sizes.add(self.concurrency_rows)
        return sorted(sizes)


def full_plan() -> Plan:
    """``make bench``: about 30 minutes on a 2-core machine (data sets already generated)."""
    return Plan(rows=5_000_000, sweep_rows=100_000, concurrency_rows=10_000, runs=3, retries=2)


def quick_plan() -> Plan:
    """``make bench-quick``: every suite end to end in seconds; proves the harness, not speed."""
    return Plan(
        rows=10_000,
        sweep_rows=10_000,
        concurrency_rows=10_000,
        runs=1,
        retries=0,
        fetch_rows_points=(1_000, 10_000),
        chunk_bytes_points=(16 * KIB, 256 * KIB),
        concurrency_levels=(1, 4),
        quiet_wait_s=0.0,
        retry_budget_s=0.0,
        fresh_server_per_point=False,
    )


def customize(plan: Plan, **changes: object) -> Plan:
    """``plan`` with some fields replaced (and validated again)."""
    return replace(plan, **changes)  # type: ignore[arg-type]
