"""Parquet, written front to back: row groups as rows arrive, the footer at the end.

Rows are buffered up to ``row_group_rows`` per row group (that bounds this format's memory per
export). A file cut short has no footer and no trailing magic, so no reader accepts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from exporter.columns import Column, Row
from exporter.encoders._arrow_values import (
    array_builder,
    arrow_schema,
    record_batch,
    record_batch_from_text,
    text_converter,
)
from exporter.encoders._sink import DrainableSink


class ParquetEncoder:
    """Encodes text rows, or string columns, as a Parquet file (zstd-compressed column chunks)."""

    def __init__(self, columns: Sequence[Column], *, row_group_rows: int) -> None:
        self._schema = arrow_schema(columns)
        self._builders = [array_builder(column) for column in columns]
        self._converters = [text_converter(column) for column in columns]
        self._row_group_rows = row_group_rows
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._sink = DrainableSink()
        self._writer: pq.ParquetWriter | None = None

    def start(self) -> bytes:
        self._writer = pq.ParquetWriter(self._sink, self._schema, compression="zstd")
        return self._sink.drain()

    def encode(self, rows: Sequence[Row]) -> bytes:
        return self._add(record_batch(self._schema, self._builders, rows))

    def encode_text(self, strings: Sequence[pa.Array]) -> bytes:
        return self._add(record_batch_from_text(self._schema, self._converters, strings))

    def finish(self) -> bytes:
        assert self._writer is not None, "start() first"
        self._write_pending()
        self._writer.close()
        return self._sink.drain()

    def _add(self, batch: pa.RecordBatch) -> bytes:
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        if self._pending_rows >= self._row_group_rows:
            self._write_pending()
        return self._sink.drain()

    def _write_pending(self) -> None:
        assert self._writer is not None, "start() first"
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._writer.write_table(table, row_group_size=max(len(table), 1))
            self._pending.clear()
            self._pending_rows = 0


def create_encoder(
    columns: Sequence[Column], *, parquet_row_group_rows: int = 65_536, **_options: Any
) -> ParquetEncoder:
    """The Parquet encoder for ``columns``."""
    return ParquetEncoder(columns, row_group_rows=parquet_row_group_rows)
