"""Arrow and Parquet: write through the service, read back with pyarrow/polars/DuckDB, compare
with the values PostgreSQL holds (read independently, through asyncpg's binary codecs)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import duckdb
import polars as pl
import pyarrow as pa
import pytest

from exporter.export.service import ExportService
from tests.support.readers import read_arrow, read_parquet, same
from tests.support.streams import export_bytes

READERS = {"arrow": read_arrow, "parquet": read_parquet}


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
async def test_type_zoo_round_trip(service: ExportService, database_url: str, fmt: str) -> None:
    table = READERS[fmt](await export_bytes(service, "type_zoo", fmt))
    native = await asyncpg.connect(database_url)
    try:
        await native.execute("SET TimeZone = 'UTC'")
        expected = await native.fetch(
            "SELECT id, c_smallint, c_int, c_bigint, c_real, c_double, c_numeric_12_2, c_bool,"
            " c_text, c_varchar, c_char, c_uuid, c_jsonb::text AS c_jsonb, c_bytea,"
            " c_int_array, c_text_array, c_numeric::text AS c_numeric,"
            " CASE WHEN isfinite(c_date) THEN c_date - date '1970-01-01' END AS c_date_days,"
            " CASE WHEN isfinite(c_timestamptz) THEN"
            "   (extract(epoch FROM c_timestamptz) * 1000000)::bigint END AS c_timestamptz_us,"
            " CASE WHEN isfinite(c_timestamp) THEN"
            "   (extract(epoch FROM c_timestamp) * 1000000)::bigint END AS c_timestamp_us,"
            " c_timestamp::text AS c_timestamp_text, c_timestamptz::text AS c_timestamptz_text,"
            " c_date::text AS c_date_text"
            " FROM demo.type_zoo ORDER BY id"
        )
    finally:
        await native.close()
    assert table.num_rows == len(expected) > 0
    schema = table.schema
    assert schema.field("c_bigint").type == pa.int64()
    assert schema.field("c_numeric_12_2").type == pa.decimal128(12, 2)
    assert schema.field("c_numeric").type == pa.string()  # unconstrained: no exact Arrow type
    assert schema.field("c_timestamptz").type == pa.timestamp("us", tz="UTC")
    assert schema.field("c_timestamp").type == pa.timestamp("us")
    assert schema.field("c_date").type == pa.date32()
    assert schema.field("c_int_array").type == pa.list_(pa.int32())
    assert schema.field("c_bytea").type == pa.binary()
    assert schema.field("c_numeric_12_2").metadata == {b"pg_type": b"numeric(12,2)"}

    simple = ["id", "c_smallint", "c_int", "c_bigint", "c_double", "c_numeric_12_2", "c_bool",
              "c_text", "c_varchar", "c_char", "c_jsonb", "c_bytea", "c_int_array",
              "c_text_array", "c_numeric"]  # fmt: skip
    for name in simple:
        gots = table.column(name).to_pylist()
        wants = [row[name] for row in expected]
        if name == "c_jsonb":
            gots = [None if v is None else v for v in gots]
        assert all(same(g, w) for g, w in zip(gots, wants, strict=True)), name
    reals = table.column("c_real").to_pylist()
    for got, row in zip(reals, expected, strict=True):
        want = row["c_real"]
        assert (got is None and want is None) or same(
            float(pa.scalar(want, pa.float32()).as_py()), got
        )
    uuids = table.column("c_uuid").to_pylist()
    assert [None if u is None else uuid.UUID(bytes=u) if isinstance(u, bytes) else u
            for u in uuids] == [row["c_uuid"] for row in expected]  # fmt: skip

    days = table.column("c_date").cast(pa.int32()).to_pylist()
    for got, row in zip(days, expected, strict=True):
        text = row["c_date_text"]
        want = {"infinity": 2**31 - 1, "-infinity": -(2**31 - 1)}.get(text, row["c_date_days"])
        assert got == want, text
    extremes = {"infinity": 2**63 - 1, "-infinity": -(2**63 - 1)}
    for column in ("c_timestamptz", "c_timestamp"):
        micros = table.column(column).cast(pa.int64()).to_pylist()
        for got, row in zip(micros, expected, strict=True):
            want = extremes.get(row[f"{column}_text"], row[f"{column}_us"])
            assert got == want, (column, row[f"{column}_text"])


async def test_infinite_timestamps_become_the_extremes(service: ExportService) -> None:
    table = read_arrow(await export_bytes(service, "type_zoo", "arrow"))
    texts = await _texts(service, "c_timestamp")
    micros = table.column("c_timestamp").cast(pa.int64()).to_pylist()
    mapping = dict(zip(texts, micros, strict=True))
    assert mapping["infinity"] == 2**63 - 1
    assert mapping["-infinity"] == -(2**63 - 1)


async def _texts(service: ExportService, column: str) -> list[str | None]:
    async with service.pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT {column} FROM demo.type_zoo ORDER BY id")
    return [row[0] for row in rows]


async def test_polars_and_duckdb_read_what_we_write(service: ExportService, tmp_path: Any) -> None:
    arrow_data = await export_bytes(service, "orders", "arrow")
    parquet_data = await export_bytes(service, "orders", "parquet")
    frame = pl.read_ipc_stream(io.BytesIO(arrow_data))
    path = tmp_path / "orders.parquet"
    path.write_bytes(parquet_data)
    relation = duckdb.sql(f"SELECT count(*), sum(amount) FROM '{path}'")
    assert relation is not None  # a query: duckdb.sql returns None only for statements
    [(count, total)] = relation.fetchall()
    async with service.pool.acquire() as conn:
        request = service.bind("orders", [])
        sums = await conn.fetchrow(
            f"SELECT count(*)::int8, sum(amount) FROM ({request.export.sql}) q", *request.values
        )
        assert sums is not None
        want_count, want_total = sums
    assert frame.height == count == int(want_count)
    assert Decimal(str(total)) == Decimal(want_total)


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
async def test_empty_result_still_has_the_schema(service: ExportService, fmt: str) -> None:
    table = READERS[fmt](await export_bytes(service, "orders", fmt, [("since", "2999-01-01")]))
    assert table.num_rows == 0
    assert "amount" in table.schema.names


async def test_multidimensional_arrays_abort_arrow(service: ExportService) -> None:
    from exporter.errors import EncodingFailed

    with pytest.raises(EncodingFailed, match="multidimensional arrays"):
        await export_bytes(service, "zoo_everything", "arrow")


def test_stamp_parser_handles_bc_and_offsets() -> None:
    from exporter.encoders._arrow_values import _parse_date, _parse_timestamp

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert _parse_timestamp("2024-06-01 12:34:56.789012+05:30") == int(
        (datetime(2024, 6, 1, 7, 4, 56, 789012, tzinfo=UTC) - epoch).total_seconds() * 1e6
    )
    assert _parse_date("0001-01-01") == -719162
    assert _parse_date("0001-12-31 BC") == -719163  # year 0 (1 BC) is a leap year
    assert _parse_timestamp("2000-01-01 00:00:00+00:14:24") == (946684800 - 864) * 1_000_000
