"""The benchmarked query, read from its export file, and what the harness derives from it."""

from __future__ import annotations

from pathlib import Path

#: The export every benchmark runs: an unsorted scan of demo.orders, no parameters.
EXPORT_NAME = "orders_stream"
#: A shorter export served next to it, to warm a fresh server up before it is measured.
WARMUP_EXPORT_NAME = "bench_warmup"
#: More than one Parquet row group (65,536 rows) and one COPY block, so the warm-up runs every
#: code path an export takes (row group writes, dictionary fallback, zstd on full pages).
WARMUP_ROWS = 100_000


def read_query(sql_file: Path) -> str:
    """The SQL of an export file without its leading ``--`` comment lines."""
    lines = sql_file.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("--")).strip()


def copy_command(query: str) -> str:
    """PostgreSQL's own CSV output of ``query``: the reference every rate is compared to."""
    return f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"


def write_bench_catalog(export_sql: Path, directory: Path) -> Path:
    """A catalog directory holding the export under test and its warm-up twin.

    The warm-up export is the same query limited to ``WARMUP_ROWS`` rows: one request through
    every code path (encoder, worker thread, COPY or cursor). The library code it pages in
    (about 35 MB of pyarrow for Parquet) and the arenas the allocators keep afterwards then
    count in the idle RSS, which the headline reports next to the growth above it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    query = read_query(export_sql)
    (directory / export_sql.name).write_text(export_sql.read_text(encoding="utf-8"))
    warmup = (
        f"-- Benchmark warm-up: the first {WARMUP_ROWS} rows of {export_sql.stem}.\n"
        f"SELECT * FROM (\n{query}\n) AS q\nLIMIT {WARMUP_ROWS}\n"
    )
    (directory / f"{WARMUP_EXPORT_NAME}.sql").write_text(warmup, encoding="utf-8")
    return directory
