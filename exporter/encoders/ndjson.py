"""NDJSON: one JSON object per row, keys in column order, values as ``to_json()`` gives them.

From PostgreSQL's text output: integers and finite numerics/floats are copied digit for digit
(as raw JSON numbers, never through a float), NaN/Infinity become strings, json/jsonb is
embedded as JSON, timestamps get ``to_json``'s ISO 8601 shape, arrays become JSON arrays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pyarrow as pa

from exporter.columns import Column, Row, ValueKind
from exporter.encoders._json_columns import JsonLines

_NOT_JSON_NUMBERS = frozenset({"NaN", "Infinity", "-Infinity"})
#: A zone offset printed as ``+HH`` (whole hours); ``to_json`` writes ``+HH:MM``.
_HOURS_ONLY_OFFSET = re.compile(r"[+-][0-9]{2}$")

Convert = Callable[[Any], Any]


def _number(text: str) -> Any:
    return text if text in _NOT_JSON_NUMBERS else orjson.Fragment(text)


def _json(text: str) -> orjson.Fragment:
    """Embed json/jsonb text as is, but on one line.

    ``json`` keeps its input text, line breaks included, which would split an NDJSON record.
    Valid JSON cannot hold a raw CR or LF inside a string, so every one is whitespace between
    tokens and a space means the same.
    """
    if "\n" in text or "\r" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    return orjson.Fragment(text)


def _boolean(text: str) -> bool:
    return text == "t"


def _timestamp(text: str) -> str:
    """``2024-01-01 10:15:00`` -> ``2024-01-01T10:15:00`` (``infinity`` stays as it is)."""
    return text.replace(" ", "T", 1) if text[0].isdigit() else text


def _timestamptz(text: str) -> str:
    """``2024-01-01 10:15:00+00`` -> ``2024-01-01T10:15:00+00:00``, keeping a trailing BC."""
    if not text[0].isdigit():
        return text
    stamp, bc, _ = text.partition(" BC")
    stamp = stamp.replace(" ", "T", 1)
    if _HOURS_ONLY_OFFSET.search(stamp):
        stamp += ":00"
    return stamp + bc


_CONVERT_BY_KIND: dict[ValueKind, Convert] = {
    ValueKind.INT16: orjson.Fragment,
    ValueKind.INT32: orjson.Fragment,
    ValueKind.INT64: orjson.Fragment,
    ValueKind.FLOAT32: _number,
    ValueKind.FLOAT64: _number,
    ValueKind.NUMERIC: _number,
    ValueKind.BOOL: _boolean,
    ValueKind.JSON: _json,
    ValueKind.TIMESTAMP: _timestamp,
    ValueKind.TIMESTAMPTZ: _timestamptz,
}


def _array_of(convert: Convert | None) -> Convert:
    def convert_array(items: list[Any]) -> list[Any]:
        return [
            None if item is None
            else convert_array(item) if isinstance(item, list)
            else item if convert is None
            else convert(item)
            for item in items
        ]  # fmt: skip

    return convert_array


def value_converter(column: Column) -> Convert | None:
    """How to turn one non-NULL text value of ``column`` into a JSON-ready value (None: as is)."""
    convert = _CONVERT_BY_KIND.get(column.kind)
    return _array_of(convert) if column.is_array else convert


class NdjsonEncoder:
    """Encodes text rows, or string columns, as newline-delimited JSON objects.

    Rows (the cursor path) go through orjson one row at a time; string columns (COPY's CSV,
    scalar columns only) through ``JsonLines``, vectorized, into the very same bytes.
    """

    def __init__(self, columns: Sequence[Column]) -> None:
        self._columns = columns
        self._lines: JsonLines | None = None
        self._keys = [column.name for column in columns]
        self._converters = [
            (index, convert)
            for index, column in enumerate(columns)
            if (convert := value_converter(column)) is not None
        ]

    def start(self) -> bytes:
        return b""

    def encode(self, rows: Sequence[Row]) -> bytes:
        keys, converters, dumps = self._keys, self._converters, orjson.dumps
        option = orjson.OPT_APPEND_NEWLINE
        out = []
        for row in rows:
            values = list(row)
            for index, convert in converters:
                value = values[index]
                if value is not None:
                    values[index] = convert(value)
            out.append(dumps(dict(zip(keys, values, strict=True)), option=option))
        return b"".join(out)

    def encode_text(self, strings: Sequence[pa.StringArray]) -> bytes:
        if self._lines is None:  # built on first use: it refuses array columns
            self._lines = JsonLines(self._columns)
        return self._lines.encode(strings)

    def finish(self) -> bytes:
        return b""


def create_encoder(columns: Sequence[Column], **_options: Any) -> NdjsonEncoder:
    """The NDJSON encoder for ``columns``."""
    return NdjsonEncoder(columns)
