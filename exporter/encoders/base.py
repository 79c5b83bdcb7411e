"""The encoder interface: synchronous, I/O-free, state in the instance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from exporter.columns import Column, Row

if TYPE_CHECKING:  # annotations only: the registry imports this module, and must stay light
    import pyarrow as pa


class Encoder(Protocol):
    """Turns batches of text rows into the bytes of one format."""

    def start(self) -> bytes:
        """Bytes that open the output (CSV header, Arrow schema); may be empty."""
        ...

    def encode(self, rows: Sequence[Row]) -> bytes:
        """Bytes for one batch of rows; may be empty (a format that buffers)."""
        ...

    def finish(self) -> bytes:
        """Bytes that close a complete output (Arrow end-of-stream, Parquet footer)."""
        ...


@runtime_checkable
class TextColumnsEncoder(Encoder, Protocol):
    """An encoder that also takes a batch as one Arrow string array per column (NDJSON, Arrow,
    Parquet): COPY's text parsed by Arrow, with no Python object per value."""

    def encode_text(self, strings: Sequence[pa.StringArray]) -> bytes:
        """Bytes for one batch given as each column's text as COPY's text format writes it
        (backslash escapes kept, ``exporter.encoders.copy_text``; NULL as null); may be empty."""
        ...


class EncoderFactory(Protocol):
    """Builds an encoder for one export's columns."""

    def __call__(
        self,
        columns: Sequence[Column],
        *,
        parquet_row_group_rows: int,
        csv_delimiter: str,
        csv_header: bool,
        csv_bom: bool,
        parquet_row_group_bytes: int,
    ) -> Encoder: ...
