"""String columns -> NDJSON lines, vectorized in Arrow's C++ (the NDJSON encoder's COPY path).

Each column's text (COPY's text format parsed by Arrow, escapes kept: ``encoders.copy_text``)
becomes the text of its JSON values, exactly as ``encoders.ndjson`` writes them value by value,
and one ``binary_join_element_wise`` glues keys, values and separators into one line per row.
The lines of a batch are the values buffer of that one string array: no Python object per row
or value.

A column whose values are JSON strings comes out either quoted (its NULLs already ``null``) or,
when it has no NULL, as the bare inside of its strings: the quotes then travel in the
separators around it, which saves a pass over the column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from exporter.columns import Column, ValueKind
from exporter.encoders._compute import binary_join_element_wise, fill_null
from exporter.encoders.copy_text import unescape

#: COPY's text escapes a backslash, BS, FF, LF, CR and TAB exactly as JSON does (``\\``, ``\b``,
#: ``\f``, ``\n``, ``\r``, ``\t``) and writes every other character as it is. What JSON escapes
#: differently: a quote (left raw), VT (``\v``, JSON ``\u000b``) and the other control
#: characters (raw). The last two are rare: such values are unescaped and escaped by orjson, one
#: by one (an escaped backslash before a ``v`` matches too: it costs time, not correctness).
_NOT_JSON_ESCAPED = r"[\x00-\x1f]|\\v"
_NOT_JSON_NUMBERS = pa.array(["NaN", "Infinity", "-Infinity"])
#: A timestamptz whose offset is printed as whole hours (``+00``), before an optional `` BC``.
_HOURS_ONLY_OFFSET = r"([+-][0-9]{2})( BC)?$"


@dataclass(frozen=True, slots=True)
class JsonText:
    """One column's JSON values for a batch: ``before + value + after`` for every row.

    ``values`` never holds a null. ``before``/``after`` are what the separators around the
    column must add (``"`` for a string column without NULLs), empty for whole JSON values.
    """

    values: pa.Array[Any]
    before: str = ""
    after: str = ""


#: One batch of a column's text (NULL as null) -> its JSON values.
_JsonConverter: TypeAlias = "Callable[[pa.StringArray], JsonText]"


class JsonLines:
    """Encodes batches given as string columns into NDJSON lines."""

    def __init__(self, columns: Sequence[Column]) -> None:
        arrays = [column.name for column in columns if column.is_array]
        if arrays or not columns:
            raise ValueError(f"no vectorized JSON for array columns ({arrays}) or no columns")
        #: Each key as its JSON string, with the colon after it.
        self._keys = [orjson.dumps(column.name).decode() + ":" for column in columns]
        self._converters = [_converter(column) for column in columns]

    def encode(self, strings: Sequence[pa.StringArray]) -> bytes:
        """One JSON object per row, ``{"key":value,...}`` and a newline, as orjson writes them."""
        parts: list[str | pa.Array[Any]] = []
        separator = "{"
        for key, convert, text in zip(self._keys, self._converters, strings, strict=True):
            column = convert(text)
            parts.append(separator + key + column.before)
            parts.append(column.values)
            separator = column.after + ","
        parts.append(separator[:-1] + "}\n")
        lines = binary_join_element_wise(*parts, "")
        if lines.null_count:  # a NULL left in a column would drop its whole line
            raise AssertionError("a JSON line came out null")
        return _values_bytes(lines)


def _converter(column: Column) -> _JsonConverter:
    if column.pg_type == "jsonb":
        return _jsonb
    return _CONVERTERS.get(column.kind, _escaped_string)


def _values_bytes(strings: pa.Array[Any]) -> bytes:
    """The concatenated values of a string array without nulls: its data buffer, as bytes."""
    _, offsets_buffer, data = strings.buffers()
    # A string array has both buffers.
    assert offsets_buffer is not None
    assert data is not None
    offsets = memoryview(offsets_buffer).cast("i")  # int32: a batch is far below 2 GiB
    start, end = offsets[strings.offset], offsets[strings.offset + len(strings)]
    piece: bytes = data[start:end].to_pybytes()
    return piece


def _whole(strings: pa.Array[Any]) -> JsonText:
    """Values that are JSON text already: NULL becomes ``null``."""
    return JsonText(fill_null(strings, "null") if strings.null_count else strings)


def _quoted(inner: pa.Array[Any]) -> JsonText:
    """Values that are the inside of JSON strings (already escaped)."""
    if not inner.null_count:
        return JsonText(inner, '"', '"')
    return JsonText(fill_null(_in_quotes(inner), "null"))


def _in_quotes(inner: pa.Array[Any]) -> pa.Array[Any]:
    """Each value between double quotes (NULL stays NULL)."""
    return binary_join_element_wise('"', inner, '"', "")


def _number(strings: pa.StringArray) -> JsonText:
    """Digits as they are; NaN and ±Infinity, which JSON numbers cannot hold, as strings."""
    not_numbers = pc.is_in(strings, value_set=_NOT_JSON_NUMBERS)
    if pc.any(not_numbers).as_py():
        strings = pc.if_else(not_numbers, _in_quotes(strings), strings)
    return _whole(strings)


def _boolean(strings: pa.StringArray) -> JsonText:
    return _whole(pc.if_else(pc.equal(strings, pa.scalar("t")), "true", "false"))


def _json(strings: pa.StringArray) -> JsonText:
    """json as it is, on one line (as ``ndjson._json``: a raw CR/LF is whitespace)."""
    strings = unescape(strings)
    if pc.any(pc.match_substring_regex(strings, r"[\r\n]")).as_py():
        strings = pc.replace_substring_regex(strings, r"[\r\n]", " ")
    return _whole(strings)


def _jsonb(strings: pa.StringArray) -> JsonText:
    """jsonb prints its own canonical text: one line, whatever the input held (unlike json,
    which keeps its input text), so only COPY's escapes are undone."""
    return _whole(unescape(strings))


def _timestamp(strings: pa.StringArray) -> JsonText:
    """``2024-01-01 10:15:00`` -> ``2024-01-01T10:15:00``; ``infinity`` has no space to
    replace, and a BC stamp's second space stays."""
    return _quoted(pc.replace_substring(strings, " ", "T", max_replacements=1))


def _timestamptz(strings: pa.StringArray) -> JsonText:
    """As ``_timestamp``, and a whole-hours offset gets its minutes: ``+00`` -> ``+00:00``.

    In UTC (the default session zone) every value ends in ``+00``: the ``:00`` is then
    added by the separator after the column, not value by value.
    """
    stamps = pc.replace_substring(strings, " ", "T", max_replacements=1)
    if not stamps.null_count and pc.all(pc.ends_with(stamps, "+00")).as_py():
        return JsonText(stamps, '"', ':00"')
    return _quoted(pc.replace_substring_regex(stamps, _HOURS_ONLY_OFFSET, r"\1:00\2"))


def _plain_string(strings: pa.StringArray) -> JsonText:
    """Text that never needs escaping (uuid, date): quoted as it is."""
    return _quoted(strings)


def _escaped_string(strings: pa.StringArray) -> JsonText:
    """Any other text, escaped as orjson escapes a JSON string, from COPY's escaped text."""
    escaped = pc.replace_substring(strings, '"', '\\"')
    others = pc.match_substring_regex(strings, _NOT_JSON_ESCAPED)
    if pc.any(others).as_py():
        originals = unescape(pc.filter(strings, others)).to_pylist()
        fixed = pa.array([orjson.dumps(text)[1:-1].decode() for text in originals], pa.string())
        escaped = pc.replace_with_mask(escaped, fill_null(others, False), fixed)
    return _quoted(escaped)


_CONVERTERS: dict[ValueKind, _JsonConverter] = {
    ValueKind.INT16: _whole,
    ValueKind.INT32: _whole,
    ValueKind.INT64: _whole,
    ValueKind.FLOAT32: _number,
    ValueKind.FLOAT64: _number,
    ValueKind.NUMERIC: _number,
    ValueKind.BOOL: _boolean,
    ValueKind.JSON: _json,
    ValueKind.TIMESTAMP: _timestamp,
    ValueKind.TIMESTAMPTZ: _timestamptz,
    ValueKind.UUID: _plain_string,
    ValueKind.DATE: _plain_string,
}
