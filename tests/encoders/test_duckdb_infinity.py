"""±infinity dates and timestamps in our Parquet read back in DuckDB exactly as DuckDB's own.

DuckDB stores ``infinity`` as the type's largest value and ``-infinity`` as its negation; the
type's smallest value is an ordinary (absurd) date to it. Issue 15: ours were one off, so
DuckDB showed a bogus BC date and pandas failed ("year -5877641 is out of range").
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from exporter.columns import Column, ValueKind
from exporter.encoders import FORMATS

COLUMNS = [
    Column(name="d", sql_type="date", pg_type="date", kind=ValueKind.DATE),
    Column(name="ts", sql_type="timestamp", pg_type="timestamp", kind=ValueKind.TIMESTAMP),
    Column(name="tz", sql_type="timestamptz", pg_type="timestamptz", kind=ValueKind.TIMESTAMPTZ),
]
ROWS = [
    ("infinity", "infinity", "infinity"),
    ("-infinity", "-infinity", "-infinity"),
    ("2024-02-29", "2024-02-29 12:30:00", "2024-02-29 12:30:00+00"),
]


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_duckdb_reads_our_infinities_as_its_own(fmt: str, tmp_path: Path) -> None:
    encoder = FORMATS[fmt].create_encoder(COLUMNS, parquet_row_group_rows=1024)
    ours = tmp_path / f"ours.{fmt}"
    ours.write_bytes(encoder.start() + encoder.encode(ROWS) + encoder.finish())
    theirs = tmp_path / "theirs.parquet"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    values = ", ".join(
        f"('{d}'::date, '{ts}'::timestamp, '{tz}'::timestamptz)" for d, ts, tz in ROWS
    )
    con.execute(
        f"COPY (SELECT * FROM (VALUES {values}) v(d, ts, tz)) TO '{theirs}' (FORMAT parquet)"
    )
    if fmt == "arrow":
        con.register("ours", pa.ipc.open_stream(ours.read_bytes()).read_all())
        source = "ours"
    else:
        source = f"read_parquet('{ours}')"
    got = con.execute(f"SELECT d::text, ts::text, tz::text FROM {source}").fetchall()
    want = con.execute(
        f"SELECT d::text, ts::text, tz::text FROM read_parquet('{theirs}')"
    ).fetchall()
    assert got == want
    assert got[0] == ("infinity", "infinity", "infinity")
    assert got[1] == ("-infinity", "-infinity", "-infinity")
