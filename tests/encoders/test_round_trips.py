"""Every format in the registry, written and read back (pyarrow's ``test_ipc.py`` style): rows
as PostgreSQL prints them, encoded in batches, read with the format's standard reader, every
value compared with what it decodes to. No database: Hypothesis draws the values, and each
type below says how PostgreSQL prints one and what each reader gives back for it.

A new format is covered as soon as it is in ``FORMATS``; the test then asks for its reader.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.columns import Column, ValueKind
from exporter.encoders import FORMATS, Format
from exporter.encoders.csv import array_literal
from tests.support.readers import (
    read_arrow,
    read_csv,
    read_json,
    read_ndjson,
    read_parquet,
    read_xlsx,
    same,
)


def _same_value(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class PgType:
    """A PostgreSQL type: its column, its values, how PostgreSQL prints one (what a row holds),
    and what each reader gives back for one."""

    column: Column
    values: st.SearchStrategy[Any]
    #: The value in a row: PostgreSQL's text output (a list of them for an array).
    text: Callable[[Any], Any]
    #: What the csv module reads (the text; an array's literal for an array).
    csv: Callable[[Any], Any] | None = None
    #: What the NDJSON reader gives for ``to_json``'s output (numbers exactly, as Decimal).
    json: Callable[[Any], Any] = _same_value
    #: What pyarrow's ``to_pylist`` gives.
    arrow: Callable[[Any], Any] = _same_value


def _column(sql_type: str, kind: ValueKind, **more: Any) -> Column:
    pg_type = sql_type.partition("(")[0]
    return Column(name="", sql_type=sql_type, pg_type=pg_type, kind=kind, **more)


#: Text PostgreSQL can hold (no NUL), biased to what quoting and escaping get wrong.
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00")
) | st.sampled_from(["", '"', "\\", "\n", "\r\n", "\r", ",", "\\.", "NULL", "{}", 'a,"b"\n\\N'])


def _integers(sql_type: str, kind: ValueKind, bits: int) -> PgType:
    values = st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return PgType(_column(sql_type, kind), values, str)


def _decimal_text(value: Decimal) -> str:
    return "NaN" if value.is_nan() else format(value, "f")


def _numeric_json(value: Decimal) -> Any:
    """``to_json`` writes a finite numeric as a JSON number with its digits (read back exactly),
    NaN and ±Infinity as strings."""
    return value if value.is_finite() else _decimal_text(value)


@st.composite
def numeric_with_scale(draw: st.DrawFn) -> PgType:
    """``numeric(p,s)``: PostgreSQL prints exactly ``s`` decimals; Arrow holds decimal128."""
    precision = draw(st.integers(1, 38))
    scale = draw(st.integers(0, precision))
    unscaled = st.integers(-(10**precision) + 1, 10**precision - 1)
    return PgType(
        _column(
            f"numeric({precision},{scale})",
            ValueKind.NUMERIC,
            numeric_precision=precision,
            numeric_scale=scale,
        ),
        unscaled.map(lambda n: Decimal(f"{n}E-{scale}")),
        _decimal_text,
        json=_numeric_json,
    )


#: ``numeric`` without a scale keeps its input's digits; Arrow holds it as text.
NUMERIC = PgType(
    _column("numeric", ValueKind.NUMERIC),
    st.builds(
        lambda n, scale: Decimal(f"{n}E-{scale}"),
        st.integers(-(10**40), 10**40),
        st.integers(0, 20),
    )
    | st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")]),
    _decimal_text,
    json=_numeric_json,
    arrow=_decimal_text,
)


def float8_text(value: float) -> str:
    """PostgreSQL's float8 output (12+): the shortest digits that read back exactly, in
    exponent form below 1e-4 and from 1e15 on. (For some integral values past 2**53 PostgreSQL
    prints 17 digits where 16 suffice; both read back as the same float.)"""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    shortest = Decimal(repr(value)).normalize()
    sign, digits, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    power = len(digits) - 1 + exponent
    if -4 <= power < 15:
        return format(shortest, "f")
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"


FLOAT8 = PgType(
    _column("float8", ValueKind.FLOAT64),
    st.floats(),
    float8_text,
    # Its digits as a JSON number, read back exactly; NaN and the infinities as strings.
    json=lambda value: Decimal(float8_text(value)) if math.isfinite(value) else float8_text(value),
)


def _clock(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]``, trailing zeros of the fraction dropped."""
    text = value.replace(tzinfo=None).isoformat(" ", "seconds")
    return text + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")


def _offset(value: datetime, *, minutes_always: bool) -> str:
    """PostgreSQL prints ``+05:30`` and ``-08`` (``to_json``: ``-08:00``)."""
    delta = value.utcoffset()
    assert delta is not None
    minutes = int(delta.total_seconds()) // 60
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    hours = f"{sign}{minutes // 60:02d}"
    return hours + (f":{minutes % 60:02d}" if minutes % 60 or minutes_always else "")


@st.composite
def timestamptz(draw: st.DrawFn) -> PgType:
    """``timestamptz``, printed in the session's time zone (drawn per column)."""
    zone = timezone(timedelta(minutes=draw(st.sampled_from([0, 330, -480, 840, -210]))))

    def text(value: datetime) -> str:
        local = value.astimezone(zone)
        return _clock(local) + _offset(local, minutes_always=False)

    def to_json(value: datetime) -> str:
        local = value.astimezone(zone)
        return _clock(local).replace(" ", "T") + _offset(local, minutes_always=True)

    values = st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 31), timezones=st.just(UTC))
    return PgType(_column("timestamptz", ValueKind.TIMESTAMPTZ), values, text, json=to_json)


TIMESTAMP = PgType(
    _column("timestamp", ValueKind.TIMESTAMP),
    st.datetimes(),
    _clock,
    json=lambda value: _clock(value).replace(" ", "T"),
)
DATE = PgType(_column("date", ValueKind.DATE), st.dates(), date.isoformat, json=date.isoformat)

#: JSON values as jsonb holds them (no NUL in strings, integers within int64 for orjson).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


def _jsonb_order(value: Any) -> Any:
    """jsonb keeps an object's keys shortest first, then by bytes."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb_order(item) for item in value]
    return value


JSONB = PgType(
    _column("jsonb", ValueKind.JSON),
    JSON_VALUES,
    # jsonb's output: ", " and ": " between tokens, non-ASCII as is, control characters
    # escaped as JSON requires.
    lambda value: json.dumps(_jsonb_order(value), ensure_ascii=False),
    arrow=lambda value: json.dumps(_jsonb_order(value), ensure_ascii=False),
)
#: ``json`` keeps the text it was given, line breaks included: (value, indent) pairs.
JSON = PgType(
    _column("json", ValueKind.JSON),
    st.tuples(JSON_VALUES, st.sampled_from([None, 0, 2])),
    lambda pair: json.dumps(pair[0], ensure_ascii=False, indent=pair[1]),
    json=lambda pair: pair[0],
    arrow=lambda pair: json.dumps(pair[0], ensure_ascii=False, indent=pair[1]),
)
BYTEA = PgType(
    _column("bytea", ValueKind.BYTEA),
    st.binary(max_size=24),
    lambda value: "\\x" + value.hex(),
    json=lambda value: "\\x" + value.hex(),
)
UUID = PgType(_column("uuid", ValueKind.UUID), st.uuids(), str, json=str)


def _array_element(text: str | None) -> str:
    """An element of PostgreSQL's array literal (``array_out``)."""
    if text is None:
        return "NULL"
    if text == "" or text.upper() == "NULL" or any(c in text for c in '{},"\\ \t\n\r\v\f'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def array_of(element: PgType) -> PgType:
    """A one-dimensional array: a row holds the elements' text (None for NULL)."""

    def text(items: list[Any]) -> list[str | None]:
        return [None if item is None else element.text(item) for item in items]

    def each(convert: Callable[[Any], Any]) -> Callable[[list[Any]], list[Any]]:
        return lambda items: [None if item is None else convert(item) for item in items]

    column = element.column
    return PgType(
        replace(column, sql_type=column.sql_type + "[]", is_array=True),
        st.lists(st.none() | element.values, max_size=4),
        text,
        csv=lambda items: "{" + ",".join(map(_array_element, text(items))) + "}",
        json=each(element.json),
        arrow=each(element.arrow),
    )


TEXT_TYPE = PgType(_column("text", ValueKind.TEXT), TEXT, _same_value)
INT4 = _integers("int4", ValueKind.INT32, 32)
PG_TYPES: Sequence[st.SearchStrategy[PgType]] = [
    st.just(TEXT_TYPE),
    st.just(_integers("int2", ValueKind.INT16, 16)),
    st.just(INT4),
    st.just(_integers("int8", ValueKind.INT64, 64)),
    numeric_with_scale(),
    st.just(NUMERIC),
    st.just(PgType(_column("bool", ValueKind.BOOL), st.booleans(), lambda b: "t" if b else "f")),
    st.just(DATE),
    st.just(TIMESTAMP),
    timestamptz(),
    st.just(FLOAT8),
    st.just(JSON),
    st.just(JSONB),
    st.just(BYTEA),
    st.just(UUID),
    st.just(array_of(INT4)),
    st.just(array_of(TEXT_TYPE)),
]


@dataclass(frozen=True)
class Table:
    types: list[PgType]
    #: The Python values, None for NULL.
    values: list[list[Any]]
    #: Cuts of the rows into the batches given to ``encode``.
    batches: list[slice]
    parquet_row_group_rows: int

    @property
    def columns(self) -> list[Column]:
        return [t.column for t in self.types]

    def __repr__(self) -> str:
        # What a failing example needs: the columns, the rows as given, how they were cut.
        return (
            f"Table(columns={[(c.name, c.sql_type) for c in self.columns]!r}, "
            f"rows={self.rows()!r}, batches={[(b.start, b.stop) for b in self.batches]!r}, "
            f"parquet_row_group_rows={self.parquet_row_group_rows})"
        )

    def rows(self) -> list[tuple[Any, ...]]:
        """The rows as the database layer hands them over: PostgreSQL's text, None for NULL."""
        return [
            tuple(None if v is None else t.text(v) for t, v in zip(self.types, row, strict=True))
            for row in self.values
        ]


#: Column names a header or a schema must carry through: quotes, commas, line breaks, unicode.
NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=8,
)


@st.composite
def tables(draw: st.DrawFn) -> Table:
    types = draw(st.lists(st.one_of(PG_TYPES), min_size=1, max_size=5))
    names = draw(st.lists(NAMES, min_size=len(types), max_size=len(types), unique=True))
    types = [
        replace(t, column=replace(t.column, name=name))
        for t, name in zip(types, names, strict=True)
    ]
    row = st.tuples(*(st.none() | t.values for t in types)).map(list)
    values = draw(st.lists(row, max_size=12))
    # Batches as the database layer hands them over: never empty (an empty result is no batch).
    cuts = draw(st.lists(st.integers(1, len(values) - 1), max_size=3)) if len(values) > 1 else []
    bounds = sorted({0, *cuts, len(values)})
    batches = [slice(start, stop) for start, stop in itertools.pairwise(bounds)]
    return Table(types, values, batches, draw(st.integers(1, 5)))


def _from_ndjson(data: bytes) -> tuple[list[str] | None, list[list[Any]]]:
    return _from_objects(read_ndjson(data))


def _from_json(data: bytes) -> tuple[list[str] | None, list[list[Any]]]:
    return _from_objects(read_json(data))


def _from_objects(objects: list[dict[str, Any]]) -> tuple[list[str] | None, list[list[Any]]]:
    names = list(objects[0]) if objects else None
    assert all(list(o) == names for o in objects), "every record has the columns, in order"
    return names, [list(o.values()) for o in objects]


def _from_table(table: pa.Table) -> tuple[list[str], list[list[Any]]]:
    columns = [column.to_pylist() for column in table.columns]
    return table.schema.names, [list(row) for row in zip(*columns, strict=True)]


#: Format name -> its reader (column names, or None when the output cannot say; decoded rows),
#: and which of a type's expectations applies.
READ_BACK: dict[str, tuple[Callable[[bytes], tuple[list[str] | None, list[list[Any]]]], str]] = {
    "csv": (read_csv, "csv"),
    "ndjson": (_from_ndjson, "json"),
    "json": (_from_json, "json"),
    "arrow": (lambda data: _from_table(read_arrow(data)), "arrow"),
    "parquet": (lambda data: _from_table(read_parquet(data)), "arrow"),
    "xlsx": (read_xlsx, "xlsx"),
}

_XLSX_NUMBERS = frozenset({
    ValueKind.INT16, ValueKind.INT32, ValueKind.INT64, ValueKind.FLOAT32, ValueKind.FLOAT64,
    ValueKind.NUMERIC,
})  # fmt: skip
_XLSX_STAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?: (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?(?:[+-][\d:]+)?"
)


def _xlsx_expected(pg_type: PgType, value: Any) -> Any:
    """What a spreadsheet cell holds for a value (see encoders/xlsx.py): numbers that fit 15
    significant digits, booleans, dates Excel can show (the wall-clock time), else the text."""
    text = pg_type.text(value)
    column = pg_type.column
    if column.is_array:
        return array_literal(text)
    if column.kind in _XLSX_NUMBERS:
        digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
        finite = text not in ("NaN", "Infinity", "-Infinity")
        return float(text) if finite and len(digits or "0") <= 15 else text
    if column.kind is ValueKind.BOOL:
        return text == "t"
    if column.kind in (ValueKind.DATE, ValueKind.TIMESTAMP, ValueKind.TIMESTAMPTZ):
        match = _XLSX_STAMP.fullmatch(text)
        if match is None:
            return text  # infinity, BC, a year past 9999
        y, m, d, hh, mm, ss, frac = match.groups()
        day = date(int(y), int(m), int(d))
        if day < date(1900, 3, 1):
            return text
        if column.kind is ValueKind.DATE:
            return day
        micros = int((frac or "0").ljust(6, "0"))
        return datetime(day.year, day.month, day.day, int(hh or 0), int(mm or 0),
                        int(ss or 0), micros)  # fmt: skip
    return text


def _xlsx_same(have: Any, want: Any) -> bool:
    """A spreadsheet's date-time is a double: equal within a millisecond (Excel shows ms)."""
    if isinstance(want, datetime) and isinstance(have, datetime):
        return abs(have - want) <= timedelta(milliseconds=1)
    if isinstance(want, datetime) and isinstance(have, date):
        return want == datetime(have.year, have.month, have.day)
    return same(have, want)


def _expected(pg_type: PgType, reading: str, value: Any) -> Any:
    if value is None:
        return None
    if reading == "csv":
        return (pg_type.csv or pg_type.text)(value)
    if reading == "xlsx":
        return _xlsx_expected(pg_type, value)
    convert: Callable[[Any], Any] = getattr(pg_type, reading)
    return convert(value)


@pytest.mark.parametrize("fmt", list(FORMATS.values()), ids=lambda f: f.name)
@settings(max_examples=60, deadline=None)
@given(table=tables())
def test_every_format_reads_back_every_value(fmt: Format, table: Table) -> None:
    assert fmt.name in READ_BACK, f"format {fmt.name!r} has no reader here: add one to READ_BACK"
    read, reading = READ_BACK[fmt.name]
    # Options as the service passes them (export.service), to every format; few rows per
    # Parquet row group, so that batches straddle row groups.
    encoder = fmt.create_encoder(table.columns, parquet_row_group_rows=table.parquet_row_group_rows)
    rows = table.rows()
    data = encoder.start()
    for batch in table.batches:
        data += encoder.encode(rows[batch])
    data += encoder.finish()

    names, got = read(data)
    assert names in (None, [c.name for c in table.columns])
    assert len(got) == len(rows)
    for index, pg_type in enumerate(table.types):
        mismatches = [
            (text[index], want, have[index])
            for text, value, have in zip(rows, table.values, got, strict=True)
            if not (_xlsx_same if reading == "xlsx" else same)(
                have[index], want := _expected(pg_type, reading, value[index])
            )
        ]
        assert not mismatches, (
            f"{fmt.name}, column {pg_type.column.sql_type} (row text, expected, got): {mismatches}"
        )


# The expectations above are only as good as the text they start from: spot checks of it, as
# PostgreSQL 15 prints it (the generated text was also compared with a server's, by hand).
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e15, "1e+15"),
        (123456789012345.0, "123456789012345"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (100.0, "100"),
        (-0.0, "-0"),
        (5e-324, "5e-324"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_float8_text_is_what_postgresql_prints(value: float, text: str) -> None:
    assert float8_text(value) == text


def test_array_literals_quote_what_postgresql_quotes() -> None:
    literal = array_of(TEXT_TYPE).csv
    assert literal is not None
    assert literal(["a", None, "", "null", 'q"b\\', "x y", "é"]) == (
        '{a,NULL,"","null","q\\"b\\\\","x y",é}'
    )


def test_stamps_print_as_postgresql_prints_them() -> None:
    zone = timezone(timedelta(hours=-8))
    value = datetime(44, 3, 15, 12, 0, 0, 500000, tzinfo=zone)
    assert _clock(value) + _offset(value, minutes_always=False) == "0044-03-15 12:00:00.5-08"
    assert _offset(value, minutes_always=True) == "-08:00"


#: One column of every type whose column does not depend on a draw.
FIXED_TYPES = [
    TEXT_TYPE, INT4, NUMERIC, FLOAT8, DATE, TIMESTAMP, JSON, JSONB, BYTEA, UUID,
    array_of(INT4), array_of(TEXT_TYPE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "pg_type"),
    [
        pytest.param(fmt, pg_type, id=f"{fmt.name}-{pg_type.column.sql_type}")
        for fmt in FORMATS.values()
        for pg_type in FIXED_TYPES
    ],
)
def test_an_empty_batch_adds_no_rows(fmt: Format, pg_type: PgType) -> None:
    """``Encoder.encode`` takes any batch, an empty one too (the service sends none today).

    An array column's empty batch once failed in Arrow and Parquet: its null mask was built
    untyped (``pa.array([])`` is of type null) and ``ListArray.from_arrays`` refused it.
    """
    column = replace(pg_type.column, name="c")
    encoder = fmt.create_encoder([column], parquet_row_group_rows=2)
    data = encoder.start() + encoder.encode([]) + encoder.finish()
    read, _ = READ_BACK[fmt.name]
    names, rows = read(data)
    assert names in (None, ["c"])
    assert rows == []
