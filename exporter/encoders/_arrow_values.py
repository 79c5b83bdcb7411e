"""Text values -> Arrow arrays, one column at a time (shared by the Arrow and Parquet encoders).

Every column's text arrives as an Arrow string array: built from the cursor's Python strings,
or parsed by Arrow's CSV reader from COPY's output. One converter per column turns it into the
column's type, so both paths give identical arrays. The common case is one vectorized cast in
Arrow's C++ (string -> int64, timestamp, decimal); uuid and bytea hex are decoded in one C call
per batch. ``±infinity`` dates and timestamps become the largest/smallest value of the Arrow
type, as DuckDB also stores them. Values Arrow cannot parse (BC dates, years past 9999,
sub-minute zone offsets) send that column of that batch through a pure-Python parser.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from exporter.columns import Column, ValueKind
from exporter.encoders._compute import fill_null
from exporter.encoders.copy_text import may_hold_escapes, unescape
from exporter.errors import EncodingFailed

_MICROS_PER_DAY = 86_400_000_000
#: ``±infinity`` as DuckDB stores them: the type's largest value and its negation (not the
#: type's smallest value, which DuckDB reads as an ordinary date 5.9 million years BC).
_DATE32_MAX = 2**31 - 1
_DATE32_MIN = -_DATE32_MAX
_TIMESTAMP_MAX = 2**63 - 1
_TIMESTAMP_MIN = -_TIMESTAMP_MAX
_STAMP = re.compile(
    r"(?P<y>[0-9]+)-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?: (?P<H>[0-9]{2}):(?P<M>[0-9]{2}):(?P<S>[0-9]{2})(?:\.(?P<f>[0-9]{1,6}))?)?"
    r"(?P<tz>[+-][0-9]{2}(?::[0-9]{2}){0,2})?"
    r"(?P<bc> BC)?"
)

_ZERO_UUID = "00000000-0000-0000-0000-000000000000"

#: One batch of a column's values as the cursor returns them (str, list or None) -> Arrow.
ArrayBuilder: TypeAlias = "Callable[[Sequence[Any]], pa.Array[Any]]"
#: One batch of a column's text as an Arrow string array (NULL as null) -> Arrow.
TextConverter: TypeAlias = "Callable[[pa.StringArray], pa.Array[Any]]"


def arrow_type(column: Column) -> pa.DataType:
    """The Arrow type of ``column``'s values (lists for arrays)."""
    scalar = _scalar_type(column)
    return pa.list_(scalar) if column.is_array else scalar


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    """The Arrow schema for ``columns``; each field carries its PostgreSQL type as metadata."""
    return pa.schema(
        [
            pa.field(c.name, arrow_type(c), nullable=True, metadata={"pg_type": c.sql_type})
            for c in columns
        ]
    )


def _scalar_type(column: Column) -> pa.DataType:
    kind = column.kind
    if kind is ValueKind.NUMERIC:
        return _decimal_type(column) or pa.string()
    return _SCALAR_TYPES.get(kind, pa.string())


def _decimal_type(column: Column) -> pa.DataType | None:
    precision, scale = column.numeric_precision, column.numeric_scale
    if precision is None or scale is None or not 0 <= scale <= precision <= 38:
        return None
    return pa.decimal128(precision, scale)


_SCALAR_TYPES: dict[ValueKind, pa.DataType] = {
    ValueKind.INT16: pa.int16(),
    ValueKind.INT32: pa.int32(),
    ValueKind.INT64: pa.int64(),
    ValueKind.FLOAT32: pa.float32(),
    ValueKind.FLOAT64: pa.float64(),
    ValueKind.BOOL: pa.bool_(),
    ValueKind.DATE: pa.date32(),
    ValueKind.TIMESTAMP: pa.timestamp("us"),
    ValueKind.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    ValueKind.UUID: pa.uuid(),
    ValueKind.BYTEA: pa.binary(),
}


def text_converter(column: Column) -> TextConverter:
    """A function from one batch of ``column``'s text (a string array) to its Arrow array.

    For array columns this converts the elements. Both the cursor path (values built into a
    string array first) and the COPY path (string columns parsed by Arrow's CSV reader) go
    through it, so both produce the same arrays.
    """
    kind, target = column.kind, _scalar_type(column)
    if kind is ValueKind.BOOL:
        return lambda strings: pc.equal(strings, pa.scalar("t"))
    if kind is ValueKind.UUID:
        return partial(_uuid_from_text, column)
    if kind is ValueKind.BYTEA:
        return partial(_bytea_from_text, column)
    if kind is ValueKind.DATE:
        return _cast_or(column, target, _parse_date)
    if kind in (ValueKind.TIMESTAMP, ValueKind.TIMESTAMPTZ):
        return _cast_or(column, target, _parse_timestamp)
    if pa.types.is_string(target):
        return lambda strings: strings

    def cast(strings: pa.StringArray) -> pa.Array[Any]:
        try:
            return pc.cast(strings, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise EncodingFailed(
                column.name, f"cannot be written as Arrow {target}: {exc}"
            ) from exc

    return cast


def array_builder(column: Column) -> ArrayBuilder:
    """A function from one batch of ``column``'s values, as the cursor returns them, to Arrow."""
    convert = text_converter(column)
    if not column.is_array:
        return lambda values: convert(pa.array(values, pa.string()))
    list_type = arrow_type(column)

    def build_list(values: Sequence[Any]) -> pa.Array[Any]:
        offsets = [0]
        flat: list[Any] = []
        mask = []
        for value in values:
            if value is not None:
                if any(isinstance(item, list) for item in value):
                    raise EncodingFailed(
                        column.name,
                        "multidimensional arrays have no Arrow list type; "
                        "use ndjson or csv, or cast the column to text",
                    )
                flat.extend(value)
            offsets.append(len(flat))
            mask.append(value is None)
        return pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()),
            convert(pa.array(flat, pa.string())),
            type=list_type,
            mask=pa.array(mask, pa.bool_()),  # typed: an empty batch has no value to infer from
        )

    return build_list


def _cast_or(column: Column, target: pa.DataType, parse: Callable[[str], int]) -> TextConverter:
    """Arrow's cast; ``±infinity`` mapped to the type's extremes; anything else Arrow cannot
    parse (BC, years past 9999, sub-minute offsets) through ``parse``, value by value."""
    storage: pa.DataType
    if target == pa.date32():
        storage, largest, smallest = pa.int32(), _DATE32_MAX, _DATE32_MIN
    else:
        storage, largest, smallest = pa.int64(), _TIMESTAMP_MAX, _TIMESTAMP_MIN
    no_text = pa.scalar(None, pa.string())

    def build(strings: pa.StringArray) -> pa.Array[Any]:
        try:
            return pc.cast(strings, target)
        except pa.ArrowInvalid:
            pass
        positive = pc.equal(strings, pa.scalar("infinity"))
        negative = pc.equal(strings, pa.scalar("-infinity"))
        infinite = pc.or_(positive, negative)
        if pc.any(infinite).as_py():
            try:
                texts: pa.Array[Any] = pc.if_else(infinite, no_text, strings)
                finite = pc.cast(texts, target).view(storage)
            except pa.ArrowInvalid:
                pass
            else:
                extremes = pc.if_else(negative, pa.scalar(smallest, storage), finite)
                stored: pa.Array[Any] = pc.if_else(positive, pa.scalar(largest, storage), extremes)
                return stored.view(target)
        try:
            numbers = [None if v is None else parse(v) for v in strings.to_pylist()]
        except ValueError as exc:
            raise EncodingFailed(column.name, str(exc)) from exc
        return pa.array(numbers, storage).view(target)

    return build


def _uuid_from_text(column: Column, strings: pa.StringArray) -> pa.Array[Any]:
    """PostgreSQL's uuid text (always 8-4-4-4-12 lower-case hex) as 16 bytes, decoded in C."""
    count = len(strings)
    digits = pc.replace_substring(fill_null(strings, _ZERO_UUID), "-", "")
    # pyarrow-stubs: a struct scalar's as_py() is a list of dicts; pyarrow returns one dict.
    if count and (
        pc.min_max(pc.binary_length(digits)).as_py() != {"min": 32, "max": 32}  # type: ignore[comparison-overlap]
    ):
        raise EncodingFailed(column.name, "unexpected uuid text")
    start = _offsets(digits)[0].as_py()
    data = digits.buffers()[2]
    assert data is not None  # a string array's data buffer
    try:
        raw = binascii.a2b_hex(memoryview(data)[start : start + 32 * count])
    except binascii.Error as exc:
        raise EncodingFailed(column.name, f"unexpected uuid text: {exc}") from exc
    storage = _with_nulls_of(
        strings,
        pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), count, [None, pa.py_buffer(raw)]),
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def _bytea_from_text(column: Column, strings: pa.StringArray) -> pa.Array[Any]:
    """PostgreSQL's bytea hex text (``\\x`` + two digits a byte) as bytes, decoded in C."""
    count = len(strings)
    text = fill_null(strings, "\\x")
    if count and not pc.all(pc.starts_with(text, "\\x")).as_py():
        raise EncodingFailed(column.name, "bytea text without the \\x prefix")
    # (pc.binary_slice without a stop fails on some pyarrow versions; the prefix is ASCII.)
    digits = pc.utf8_slice_codeunits(text, 2)
    odd = pc.not_equal(pc.bit_wise_and(pc.binary_length(digits), pa.scalar(1)), pa.scalar(0))
    if count and pc.any(odd).as_py():
        raise EncodingFailed(column.name, "bytea text with an odd number of hex digits")
    offsets = _offsets(digits)
    start, end = offsets[0].as_py(), offsets[count].as_py()
    try:
        raw = binascii.a2b_hex(memoryview(digits.buffers()[2] or b"")[start:end])
    except binascii.Error as exc:
        raise EncodingFailed(column.name, f"unexpected bytea text: {exc}") from exc
    byte_offsets = pc.cast(pc.divide(pc.subtract(offsets, start), 2), pa.int32())
    binary = pa.BinaryArray.from_buffers(
        pa.binary(), count, [None, byte_offsets.buffers()[1], pa.py_buffer(raw)]
    )
    return _with_nulls_of(strings, binary)


def _offsets(array: pa.Array[Any]) -> pa.Array[Any]:
    """The int32 offsets of a string/binary array (``len + 1`` of them, slicing respected)."""
    return pa.Array.from_buffers(
        pa.int32(), len(array) + 1, [None, array.buffers()[1]], offset=array.offset
    )


def _with_nulls_of(strings: pa.Array[Any], values: pa.Array[Any]) -> pa.Array[Any]:
    if not strings.null_count:
        return values
    with_nulls: pa.Array[Any] = pc.if_else(
        pc.is_null(strings), pa.scalar(None, values.type), values
    )
    return with_nulls


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (year 0 = 1 BC)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _parse_date(text: str) -> int:
    """Days since the epoch for PostgreSQL's date text, BC and ±infinity included."""
    if text == "infinity":
        return _DATE32_MAX
    if text == "-infinity":
        return _DATE32_MIN
    return _parse_timestamp(text) // _MICROS_PER_DAY


def _parse_timestamp(text: str) -> int:
    """Microseconds since the epoch (UTC) for PostgreSQL's timestamp[tz] text."""
    if text == "infinity":
        return _TIMESTAMP_MAX
    if text == "-infinity":
        return _TIMESTAMP_MIN
    match = _STAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"unrecognized date/time text {text!r}")
    year = int(match["y"])
    if match["bc"]:
        year = 1 - year
    days = _days_from_civil(year, int(match["m"]), int(match["d"]))
    seconds = int(match["H"] or 0) * 3600 + int(match["M"] or 0) * 60 + int(match["S"] or 0)
    micros = int((match["f"] or "0").ljust(6, "0"))
    offset_s = 0
    if match["tz"]:
        sign = -1 if match["tz"][0] == "-" else 1
        parts = [int(p) for p in match["tz"][1:].split(":")]
        parts += [0] * (3 - len(parts))
        offset_s = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])
    return (days * 86_400 + seconds - offset_s) * 1_000_000 + micros


def record_batch(
    schema: pa.Schema, builders: Sequence[ArrayBuilder], rows: Sequence[Sequence[Any]]
) -> pa.RecordBatch:
    """One Arrow record batch from a batch of text rows (the cursor path)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in builders]
    arrays = [build(values) for build, values in zip(builders, columns, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def copy_text_converter(column: Column) -> TextConverter:
    """``text_converter`` for a column of COPY's text format: escapes undone first, where the
    column's text can hold any (``exporter.encoders.copy_text``)."""
    convert = text_converter(column)
    if not may_hold_escapes(column):
        return convert
    return lambda strings: convert(unescape(strings))


def record_batch_from_text(
    schema: pa.Schema, converters: Sequence[TextConverter], strings: Sequence[pa.StringArray]
) -> pa.RecordBatch:
    """One Arrow record batch from one string array per column (the COPY path)."""
    arrays = [convert(text) for convert, text in zip(converters, strings, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
