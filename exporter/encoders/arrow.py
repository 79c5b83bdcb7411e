"""Arrow IPC stream: the schema first, one record batch per fetched batch, then end-of-stream.

A stream cut short has no end-of-stream marker, so readers can tell it from a complete one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from exporter.columns import Column, Row
from exporter.encoders._arrow_values import array_builder, arrow_schema, record_batch
from exporter.encoders._sink import DrainableSink


class ArrowStreamEncoder:
    """Encodes text rows as an Arrow IPC stream."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._schema = arrow_schema(columns)
        self._builders = [array_builder(column) for column in columns]
        self._sink = DrainableSink()
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None

    def start(self) -> bytes:
        self._writer = pa.ipc.new_stream(self._sink, self._schema)
        return self._sink.drain()

    def encode(self, rows: Sequence[Row]) -> bytes:
        assert self._writer is not None, "start() first"
        self._writer.write_batch(record_batch(self._schema, self._builders, rows))
        return self._sink.drain()

    def finish(self) -> bytes:
        assert self._writer is not None, "start() first"
        self._writer.close()
        return self._sink.drain()


def create_encoder(columns: Sequence[Column], **_options: Any) -> ArrowStreamEncoder:
    """The Arrow IPC stream encoder for ``columns``."""
    return ArrowStreamEncoder(columns)
