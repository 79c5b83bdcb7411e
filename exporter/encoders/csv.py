"""CSV, byte for byte what ``COPY (...) TO STDOUT WITH (FORMAT csv, HEADER)`` writes.

Values arrive as PostgreSQL's text output, so only COPY's quoting rules are left to apply: a
field is quoted when it contains the delimiter, a quote, CR or LF, when it is the empty string
(unquoted empty means NULL), or when it is ``\\.`` alone in a one-column row (so it is not
read as COPY's end-of-data marker). Quotes inside are doubled. Lines end with LF.

Options as COPY has them (``DELIMITER``, ``HEADER``), plus a UTF-8 byte order mark first (which
COPY cannot write) for Excel, which otherwise reads the bytes in the system's code page.

Batches are encoded column by column: a column is scanned once (in C) for characters that
need quoting, and only columns that have some pay for per-value work.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from exporter.columns import Column, Row, ValueKind

#: The delimiters offered (``csv_delimiter=``): Excel's in comma-decimal locales is ``;``.
DELIMITERS = (",", ";", "\t", "|")
UTF8_BOM = b"\xef\xbb\xbf"
#: Characters that make a field need quotes, by delimiter.
_NEEDS_QUOTES = {
    ",": re.compile(r'[,"\r\n]'),
    ";": re.compile(r'[;"\r\n]'),
    "\t": re.compile(r'[\t"\r\n]'),
    "|": re.compile(r'[|"\r\n]'),
}

#: Kinds whose text output can never contain a delimiter, quote or newline, nor be empty.
_NEVER_QUOTED = frozenset({
    ValueKind.INT16, ValueKind.INT32, ValueKind.INT64, ValueKind.FLOAT32, ValueKind.FLOAT64,
    ValueKind.NUMERIC, ValueKind.BOOL, ValueKind.DATE, ValueKind.TIMESTAMP,
    ValueKind.TIMESTAMPTZ, ValueKind.UUID, ValueKind.BYTEA,
})  # fmt: skip


def quote_field(value: str, single_column: bool = False, delimiter: str = ",") -> str:
    """One field as COPY CSV writes it."""
    if value == "" or (single_column and value == "\\."):
        return f'"{value}"'
    if _NEEDS_QUOTES[delimiter].search(value) is None:
        return value
    return '"' + value.replace('"', '""') + '"'


def array_literal(value: list[Any] | None) -> str:
    """PostgreSQL's text form of an array value that asyncpg decoded into (nested) lists."""
    if value is None:
        return "NULL"
    parts = [array_literal(item) if isinstance(item, list) else _array_element(item)
             for item in value]  # fmt: skip
    return "{" + ",".join(parts) + "}"


def _array_element(item: str | None) -> str:
    if item is None:
        return "NULL"
    if item == "" or item.upper() == "NULL" or any(c in item for c in '{},"\\ \t\n\r\v\f'):
        return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return item


class CsvEncoder:
    """Encodes text rows as COPY CSV (``DELIMITER delimiter``, ``HEADER header``)."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        delimiter: str = ",",
        header: bool = True,
        bom: bool = False,
    ) -> None:
        if delimiter not in DELIMITERS:
            raise ValueError(f"delimiter {delimiter!r} is not one of {DELIMITERS}")
        self._columns = tuple(columns)
        self._single = len(self._columns) == 1
        self._delimiter = delimiter
        self._needs_quotes = _NEEDS_QUOTES[delimiter]
        self._header = header
        self._bom = bom

    def start(self) -> bytes:
        preamble = UTF8_BOM if self._bom else b""
        if not self._header:
            return preamble
        names = (self._quote(c.name) for c in self._columns)
        return preamble + (self._delimiter.join(names) + "\n").encode()

    def encode(self, rows: Sequence[Row]) -> bytes:
        if not rows:
            return b""
        fields = [
            self._encode_column(column, values)
            for column, values in zip(self._columns, zip(*rows, strict=True), strict=True)
        ]
        lines = map(self._delimiter.join, zip(*fields, strict=True))
        return ("\n".join(lines) + "\n").encode()

    def finish(self) -> bytes:
        return b""

    def _encode_column(self, column: Column, values: Sequence[Any]) -> Sequence[str]:
        if column.is_array:
            return ["" if v is None else self._quote(array_literal(v)) for v in values]
        present = [v for v in values if v is not None]
        if len(present) == len(values):
            texts: Sequence[str] = values
        else:
            texts = ["" if v is None else v for v in values]
        if column.kind in _NEVER_QUOTED and not self._single:
            return texts
        # One C-speed scan of the whole column decides whether any value needs work.
        if (
            "" not in present
            and self._needs_quotes.search("\x00".join(present)) is None
            and (not self._single or "\\." not in present)
        ):
            return texts
        return ["" if v is None else self._quote(v) for v in values]

    def _quote(self, value: str) -> str:
        return quote_field(value, self._single, self._delimiter)


def create_encoder(
    columns: Sequence[Column],
    *,
    csv_delimiter: str = ",",
    csv_header: bool = True,
    csv_bom: bool = False,
    **_options: Any,
) -> CsvEncoder:
    """The CSV encoder for ``columns``."""
    return CsvEncoder(columns, delimiter=csv_delimiter, header=csv_header, bom=csv_bom)
