"""Text values -> Arrow arrays, one column at a time (shared by the Arrow and Parquet encoders).

The common case is one vectorized cast in Arrow's C++ (string -> int64, timestamp, decimal).
Values Arrow cannot parse (``infinity``, BC dates, sub-minute zone offsets) send that column of
that batch through a pure-Python parser. ``±infinity`` dates and timestamps become the
largest/smallest value of the Arrow type, as DuckDB also stores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from exporter.columns import Column, ValueKind
from exporter.errors import EncodingFailed

_MICROS_PER_DAY = 86_400_000_000
_DATE32_MAX, _DATE32_MIN = 2**31 - 1, -(2**31)
_TIMESTAMP_MAX, _TIMESTAMP_MIN = 2**63 - 1, -(2**63)
_STAMP = re.compile(
    r"(?P<y>[0-9]+)-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?: (?P<H>[0-9]{2}):(?P<M>[0-9]{2}):(?P<S>[0-9]{2})(?:\.(?P<f>[0-9]{1,6}))?)?"
    r"(?P<tz>[+-][0-9]{2}(?::[0-9]{2}){0,2})?"
    r"(?P<bc> BC)?"
)

ArrayBuilder = Callable[[Sequence[Any]], pa.Array]


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


def array_builder(column: Column) -> ArrayBuilder:
    """A function from one batch's values of ``column`` to an Arrow array."""
    scalar = _scalar_builder(column, _scalar_type(column))
    if not column.is_array:
        return scalar
    list_type = arrow_type(column)

    def build_list(values: Sequence[Any]) -> pa.Array:
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
            pa.array(offsets, pa.int32()), scalar(flat), type=list_type, mask=pa.array(mask)
        )

    return build_list


def _scalar_builder(column: Column, target: pa.DataType) -> ArrayBuilder:
    kind = column.kind
    if kind is ValueKind.BOOL:
        return lambda values: pc.equal(pa.array(values, pa.string()), "t")
    if kind is ValueKind.UUID:
        return _build_uuid
    if kind is ValueKind.BYTEA:
        return lambda values: pa.array(
            [None if v is None else bytes.fromhex(v[2:]) for v in values], pa.binary()
        )
    if kind is ValueKind.DATE:
        return _cast_or(column, target, _parse_date)
    if kind in (ValueKind.TIMESTAMP, ValueKind.TIMESTAMPTZ):
        return _cast_or(column, target, _parse_timestamp)
    if pa.types.is_string(target):
        return lambda values: pa.array(values, pa.string())

    def cast(values: Sequence[Any]) -> pa.Array:
        try:
            return pc.cast(pa.array(values, pa.string()), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise EncodingFailed(
                column.name, f"cannot be written as Arrow {target}: {exc}"
            ) from exc

    return cast


def _cast_or(column: Column, target: pa.DataType, parse: Callable[[str], int]) -> ArrayBuilder:
    storage = pa.int32() if target == pa.date32() else pa.int64()

    def build(values: Sequence[Any]) -> pa.Array:
        strings = pa.array(values, pa.string())
        try:
            return pc.cast(strings, target)
        except pa.ArrowInvalid:
            try:
                numbers = [None if v is None else parse(v) for v in values]
            except ValueError as exc:
                raise EncodingFailed(column.name, str(exc)) from exc
            return pa.array(numbers, storage).view(target)

    return build


def _build_uuid(values: Sequence[Any]) -> pa.Array:
    storage = pa.array(
        [None if v is None else bytes.fromhex(v.replace("-", "")) for v in values],
        pa.binary(16),
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


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
    """One Arrow record batch from a batch of text rows."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in builders]
    arrays = [build(values) for build, values in zip(builders, columns, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
