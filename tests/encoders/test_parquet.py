"""The Parquet encoder's memory is bounded in bytes whatever the batches' size (issue 19,
finding 1): one-row batches are combined as they arrive, and a row group closes at
``row_group_bytes`` as well as at ``row_group_rows``."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from exporter.columns import Column, ValueKind
from exporter.encoders.parquet import ParquetEncoder

COLUMNS = [
    Column(name=f"c{i}", sql_type=sql_type, pg_type=sql_type, kind=kind)
    for i, (sql_type, kind) in enumerate(
        [("int8", ValueKind.INT64), ("text", ValueKind.TEXT), ("numeric", ValueKind.NUMERIC)] * 3
    )
]


def _row(i: int) -> list[str]:
    return [str(i), f"row {i}", f"{i}.25"] * 3


def test_one_row_batches_are_combined_as_they_arrive() -> None:
    pool = pa.default_memory_pool()
    encoder = ParquetEncoder(COLUMNS, row_group_rows=65_536, row_group_bytes=64 << 20)
    out = io.BytesIO()
    out.write(encoder.start())
    before = pool.bytes_allocated()
    for i in range(20_000):
        out.write(encoder.encode([_row(i)]))
    held = pool.bytes_allocated() - before
    out.write(encoder.finish())
    # 20,000 rows of ~60 bytes are ~1.5 MB of Arrow data; one batch per row held ~40 MB of
    # 64-byte-aligned buffers (and ~200,000 C++ and Python objects besides).
    assert held < 4 << 20, held
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.column("c0").to_pylist() == list(range(20_000))
    assert pq.ParquetFile(io.BytesIO(out.getvalue())).metadata.num_row_groups == 1


def test_a_row_group_closes_at_its_byte_bound() -> None:
    encoder = ParquetEncoder(COLUMNS, row_group_rows=65_536, row_group_bytes=256 << 10)
    out = io.BytesIO()
    out.write(encoder.start())
    for start in range(0, 20_000, 500):
        out.write(encoder.encode([_row(i) for i in range(start, start + 500)]))
    out.write(encoder.finish())
    metadata = pq.ParquetFile(io.BytesIO(out.getvalue())).metadata
    assert metadata.num_row_groups > 4
    assert max(metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)) < 20_000
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.column("c1").to_pylist() == [f"row {i}" for i in range(20_000)]
