"""Arrow IPC stream: the schema first, one record batch per batch of rows, then end-of-stream.

A stream cut short has no end-of-stream marker, so readers can tell it from a complete one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from exporter.columns import Column, Row
from exporter.encoders._arrow_values import (
    array_builder,
    arrow_schema,
    copy_text_converter,
    record_batch,
    record_batch_from_text,
)
from exporter.encoders._sink import DrainableSink


class ArrowStreamEncoder:
    """Encodes text rows, or string columns, as an Arrow IPC stream."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._schema = arrow_schema(columns)
        self._builders = [array_builder(column) for column in columns]
        self._converters = [copy_text_converter(column) for column in columns]
        self._sink = DrainableSink()
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None

    def start(self) -> bytes:
        self._writer = pa.ipc.new_stream(self._sink, self._schema)
        return self._sink.drain()

    def encode(self, rows: Sequence[Row]) -> bytes:
        return self._write(record_batch(self._schema, self._builders, rows))

    def encode_text(self, strings: Sequence[pa.StringArray]) -> bytes:
        return self._write(record_batch_from_text(self._schema, self._converters, strings))

    def finish(self) -> bytes:
        assert self._writer is not None, "start() first"
        self._writer.close()
        return self._sink.drain()

    def _write(self, batch: pa.RecordBatch) -> bytes:
        assert self._writer is not None, "start() first"
        self._writer.write_batch(batch)
        return self._sink.drain()


def create_encoder(columns: Sequence[Column], **_options: Any) -> ArrowStreamEncoder:
    """The Arrow IPC stream encoder for ``columns``."""
    return ArrowStreamEncoder(columns)
