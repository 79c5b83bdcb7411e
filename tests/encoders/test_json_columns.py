"""NDJSON from string columns (COPY's text format, vectorized) against NDJSON from rows (the
cursor path, orjson value by value): the same bytes for any text (PostgreSQL's text never
holds NUL), NULLs and special values included.

The database-backed comparison of both paths is ``test_copy_path``; here hypothesis reaches the
text no export holds (every control character, lone quotes and backslashes, non-ASCII)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.columns import Column, ValueKind
from exporter.encoders.ndjson import NdjsonEncoder


def column(name: str, kind: ValueKind, pg_type: str = "", *, is_array: bool = False) -> Column:
    return Column(
        name=name, sql_type=pg_type or kind.value, pg_type=pg_type or kind.value, kind=kind,
        is_array=is_array,
    )  # fmt: skip


#: What PostgreSQL's COPY text format escapes (``CopyAttributeOutText``); all else is raw.
COPY_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                "\v": "\\v"}  # fmt: skip


def copy_text(value: str | None) -> str | None:
    return None if value is None else "".join(COPY_ESCAPES.get(c, c) for c in value)


def both_paths(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> tuple[bytes, bytes]:
    """(rows through the cursor path's encoder, the same rows as COPY's text columns)."""
    by_rows = NdjsonEncoder(columns).encode(rows)
    strings = [
        pa.array([copy_text(row[i]) for row in rows], pa.string()) for i in range(len(columns))
    ]
    return by_rows, NdjsonEncoder(columns).encode_text(strings)


#: Every character JSON must escape, and neighbours it must not.
HOSTILE = st.sampled_from('\x01\x08\t\n\x0b\x0c\r\x1f"\\abfnrtvN\x7fé')
TEXT_COLUMNS = [column("t", ValueKind.TEXT), column('we"ird\nkey', ValueKind.TEXT)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none()
            | st.text(
                alphabet=st.characters(
                    codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"
                )
            ),
            st.none() | st.text(alphabet=HOSTILE),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_text_escapes_as_orjson_does(rows: list[tuple[str | None, str | None]]) -> None:
    by_rows, by_columns = both_paths(TEXT_COLUMNS, rows)
    assert by_columns == by_rows


SPECIAL_VALUES: list[tuple[Column, list[str | None]]] = [
    (column("i", ValueKind.INT64), ["-9223372036854775808", "0", None]),
    (column("n", ValueKind.NUMERIC), ["NaN", "Infinity", "-Infinity", "1" * 60 + ".25", None]),
    (column("f", ValueKind.FLOAT64), ["-0", "1e+308", "NaN", "-Infinity", None]),
    (column("b", ValueKind.BOOL), ["t", "f", None]),
    (column("js", ValueKind.JSON, "json"), ['{"a":\n 1,\r\n"b": "x\\\\n"}', "[]", None]),
    (column("jb", ValueKind.JSON, "jsonb"), ['{"a": 1, "b": "\\n"}', "null", None]),
    (
        column("ts", ValueKind.TIMESTAMP),
        ["2024-01-01 10:15:00.5", "0044-03-15 12:00:00 BC", "infinity", "-infinity", None],
    ),
    (
        column("tz", ValueKind.TIMESTAMPTZ),
        [
            "2024-01-01 10:15:00+00",
            "2024-01-01 10:15:00+05:30",
            "1883-11-18 12:00:00-04:56:02",
            "infinity",
            "0044-03-15 12:00:00+00 BC",
            None,
        ],
    ),
    (column("u", ValueKind.UUID), ["e1cddf78-bce7-30fe-c9cb-3c41aa44df54", None]),
    (column("d", ValueKind.DATE), ["2024-02-29", "0001-01-01 BC", "infinity", None]),
    (column("by", ValueKind.BYTEA), ["\\x00ff", None]),
    (column("iv", ValueKind.TEXT, "interval"), ["1 day 02:00:00", None]),
]


@pytest.mark.parametrize(("col", "values"), SPECIAL_VALUES, ids=lambda v: getattr(v, "name", ""))
def test_every_kind_gives_the_row_path_bytes(col: Column, values: list[str | None]) -> None:
    by_rows, by_columns = both_paths([col], [[value] for value in values])
    assert by_columns == by_rows
    # Without NULLs a string column's quotes (and a UTC offset's minutes) come from the
    # separators instead: the same bytes again.
    present = [[value] for value in values if value is not None]
    by_rows, by_columns = both_paths([col], present)
    assert by_columns == by_rows


def test_utc_stamps_get_their_minutes_from_the_separator() -> None:
    columns = [column("tz", ValueKind.TIMESTAMPTZ), column("n", ValueKind.INT32)]
    rows: list[list[str | None]] = [
        ["2024-01-01 10:15:00+00", "1"],
        ["2024-01-01 10:15:00.123+00", None],
    ]
    by_rows, by_columns = both_paths(columns, rows)
    assert (
        by_columns
        == by_rows
        == (
            b'{"tz":"2024-01-01T10:15:00+00:00","n":1}\n'
            b'{"tz":"2024-01-01T10:15:00.123+00:00","n":null}\n'
        )
    )
    by_rows, by_columns = both_paths(columns, [*rows, [None, "2"]])
    assert by_columns == by_rows
    assert by_columns.endswith(b'{"tz":null,"n":2}\n')


def test_array_columns_are_refused() -> None:
    columns = [column("a", ValueKind.INT32, is_array=True)]
    with pytest.raises(ValueError, match="array columns"):
        NdjsonEncoder(columns).encode_text([pa.array(["{1,2}"])])
