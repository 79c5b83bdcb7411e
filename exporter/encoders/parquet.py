"""Parquet, written front to back: row groups as rows arrive, the footer at the end.

Rows are buffered up to ``row_group_rows`` per row group, or ``row_group_bytes`` of Arrow data,
whichever comes first: that bounds this format's memory per export in bytes, whatever the rows'
width. Small batches (a client's ``fetch_rows=1``) are combined as they arrive, so a row group
is a few dozen batches, never tens of thousands of one-row batches each with its own buffers
and objects (about 10 KB apiece). Every row group but the last holds exactly
``row_group_rows`` rows, in one contiguous chunk per column, unless the byte bound closed it
first: the file's bytes then depend only on the rows, not on how they arrived (cursor batches,
COPY blocks cut by timing). A file cut short has no footer and no trailing magic, so no reader
accepts it.
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
    copy_text_converter,
    record_batch,
    record_batch_from_text,
)
from exporter.encoders._sink import DrainableSink

#: Batches with fewer rows are combined with their neighbours as they arrive (pairwise, like a
#: binary counter: each row is copied at most ~10 times, and a row group holds at most
#: ``row_group_rows / SMALL_BATCH_ROWS`` + 11 batches).
SMALL_BATCH_ROWS = 1024


class ParquetEncoder:
    """Encodes text rows, or string columns, as a Parquet file (zstd-compressed column chunks)."""

    def __init__(
        self, columns: Sequence[Column], *, row_group_rows: int, row_group_bytes: int
    ) -> None:
        self._schema = arrow_schema(columns)
        self._builders = [array_builder(column) for column in columns]
        self._converters = [copy_text_converter(column) for column in columns]
        self._row_group_rows = row_group_rows
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._row_group_bytes = row_group_bytes
        self._sink = DrainableSink()
        self._writer: pq.ParquetWriter | None = None

    def start(self) -> bytes:
        # pyarrow-stubs wants a path, typing.IO or a NativeFile; pyarrow takes any object with
        # write() (DrainableSink is an io.RawIOBase, which typing.IO is not).
        self._writer = pq.ParquetWriter(
            self._sink,  # type: ignore[arg-type]
            self._schema,
            compression="zstd",
        )
        return self._sink.drain()

    def encode(self, rows: Sequence[Row]) -> bytes:
        return self._add(record_batch(self._schema, self._builders, rows))

    def encode_text(self, strings: Sequence[pa.StringArray]) -> bytes:
        return self._add(record_batch_from_text(self._schema, self._converters, strings))

    def finish(self) -> bytes:
        assert self._writer is not None, "start() first"
        self._write_pending()
        self._writer.close()
        return self._sink.drain()

    def _add(self, batch: pa.RecordBatch) -> bytes:
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        self._combine_small()
        while self._pending_rows >= self._row_group_rows:
            self._write_pending(self._row_group_rows)
        if self._pending_bytes >= self._row_group_bytes:
            self._write_pending()
        return self._sink.drain()

    def _combine_small(self) -> None:
        """Merge the last two pending batches while the older one is small and no larger."""
        pending = self._pending
        while (
            len(pending) >= 2
            and pending[-2].num_rows < SMALL_BATCH_ROWS
            and pending[-2].num_rows <= pending[-1].num_rows
        ):
            last = pending.pop()
            # pyarrow >= 19 has concat_batches; pyarrow-stubs 20 does not list it yet.
            pending[-1] = pa.concat_batches([pending[-1], last])  # type: ignore[attr-defined]

    def _write_pending(self, rows: int | None = None) -> None:
        """Write ``rows`` pending rows (all of them by default) as one row group."""
        assert self._writer is not None, "start() first"
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self._schema)
        rows = len(table) if rows is None else rows
        # Contiguous columns: Parquet's pages follow the chunks they are written from.
        group = table.slice(0, rows).combine_chunks()
        # Let go of the batches copied into the group before the writer allocates its pages:
        # only the batch that straddles the boundary stays (its rows past it are pending).
        self._pending = table.slice(rows).to_batches()
        self._pending_rows = len(table) - rows
        self._pending_bytes = sum(batch.nbytes for batch in self._pending)
        del table
        self._writer.write_table(group, row_group_size=max(rows, 1))


def create_encoder(
    columns: Sequence[Column],
    *,
    parquet_row_group_rows: int = 65_536,
    parquet_row_group_bytes: int = 64 * 1024 * 1024,
    **_options: Any,
) -> ParquetEncoder:
    """The Parquet encoder for ``columns``."""
    return ParquetEncoder(
        columns, row_group_rows=parquet_row_group_rows, row_group_bytes=parquet_row_group_bytes
    )
