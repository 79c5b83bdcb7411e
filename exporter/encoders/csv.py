"""CSV, byte for byte what ``COPY (...) TO STDOUT WITH (FORMAT csv, HEADER)`` writes.

Values arrive as PostgreSQL's text output, so only COPY's quoting rules are left to apply: a
field is quoted when it contains the delimiter, a quote, CR or LF, when it is the empty string
(unquoted empty means NULL), or when it is ``\\.`` alone in a one-column row (so it is not
read as COPY's end-of-data marker). Quotes inside are doubled. Lines end with LF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from exporter.columns import Column, Row, ValueKind

_NEEDS_QUOTES = frozenset(',"\r\n')

#: Kinds whose text output can never contain a delimiter, quote or newline, nor be empty.
_NEVER_QUOTED = frozenset({
    ValueKind.INT16, ValueKind.INT32, ValueKind.INT64, ValueKind.FLOAT32, ValueKind.FLOAT64,
    ValueKind.NUMERIC, ValueKind.BOOL, ValueKind.DATE, ValueKind.TIMESTAMP,
    ValueKind.TIMESTAMPTZ, ValueKind.UUID, ValueKind.BYTEA,
})  # fmt: skip


def quote_field(value: str, single_column: bool = False) -> str:
    """One field as COPY CSV writes it."""
    if value == "" or (single_column and value == "\\."):
        return f'"{value}"'
    if _NEEDS_QUOTES.isdisjoint(value):
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
    """Encodes text rows as COPY CSV."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._columns = tuple(columns)
        single = len(self._columns) == 1
        self._formatters: list[Callable[[Any], str]] = [
            _formatter(column, single) for column in self._columns
        ]

    def start(self) -> bytes:
        single = len(self._columns) == 1
        header = ",".join(quote_field(c.name, single) for c in self._columns)
        return (header + "\n").encode()

    def encode(self, rows: Sequence[Row]) -> bytes:
        formatters = self._formatters
        lines = [
            ",".join(["" if v is None else f(v) for f, v in zip(formatters, row, strict=True)])
            for row in rows
        ]
        lines.append("")
        return "\n".join(lines).encode()

    def finish(self) -> bytes:
        return b""


def _formatter(column: Column, single_column: bool) -> Callable[[Any], str]:
    if column.is_array:
        return lambda value: quote_field(array_literal(value), single_column)
    if column.kind in _NEVER_QUOTED:
        return str
    if single_column:
        return lambda value: quote_field(value, True)
    return quote_field


def create_encoder(columns: Sequence[Column], **_options: Any) -> CsvEncoder:
    """The CSV encoder for ``columns``."""
    return CsvEncoder(columns)
