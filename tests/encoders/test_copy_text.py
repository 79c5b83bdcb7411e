"""COPY's text format parsed by Arrow (``TextColumns``) gives back exactly the values
PostgreSQL held: NULL apart from '' and from a literal backslash-N, every escape PostgreSQL
writes (and the text that merely looks like one), control characters and byte order marks."""

from __future__ import annotations

import random

import asyncpg
import pyarrow as pa
import pytest

from exporter.columns import Column, ValueKind
from exporter.encoders._arrow_values import copy_text_converter
from exporter.encoders.copy_text import TextColumns, may_hold_escapes, unescape

#: Characters COPY's text escapes, letters that follow a backslash in an escape, characters it
#: writes as they are (which must pass untouched).
HOSTILE = ["\\", "\n", "\r", "\t", "\b", "\f", "\v", "\x01", "\x1f", "n", "N", "t", "v", "x",
           "0", ".", '"', ",", "\ufeff", " ", "é", "🎉"]  # fmt: skip
EDGES = [None, "", "\\N", "\\\\N", "N", "\\", "\\\\", "\\n", "\\\n", "\n\\", "\\.", "\\x41",
         "\\101", "NULL", " ", "\ufeff", "\ufeffx", "\t",
         'say "hi", then\r\n\tleave\\']  # fmt: skip


def random_values(count: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    values: list[str | None] = []
    for _ in range(count):
        if rng.random() < 0.1:
            values.append(None)
        else:
            values.append("".join(rng.choice(HOSTILE) for _ in range(rng.randrange(0, 8))))
    return values


async def copy_rows(conn: asyncpg.Connection, rows: list[tuple[str | None, ...]]) -> bytes:
    """PostgreSQL's COPY text for ``rows`` (text columns), in order."""
    width = len(rows[0])
    columns = ", ".join(f"c{i} text" for i in range(width))
    await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS copy_csv_{width} (k text, {columns})")
    await conn.execute(f"TRUNCATE copy_csv_{width}")
    await conn.copy_records_to_table(
        f"copy_csv_{width}", records=[(f"{k:08d}", *row) for k, row in enumerate(rows)]
    )
    out = bytearray()

    async def sink(data: bytes) -> None:
        out.extend(data)

    names = ", ".join(f"c{i}" for i in range(width))
    await conn.copy_from_query(
        f"SELECT {names} FROM copy_csv_{width} ORDER BY k", output=sink, format="text"
    )
    return bytes(out)


def parse_unescaped(data: bytes, width: int) -> list[pa.StringArray]:
    return [unescape(column) for column in TextColumns(width).parse(data)]


@pytest.mark.parametrize("width", [1, 3])
async def test_values_round_trip_through_copy_text(conn: asyncpg.Connection, width: int) -> None:
    values = EDGES + random_values(3000, seed=width)
    rows = [tuple(values[(i + j) % len(values)] for j in range(width)) for i in range(len(values))]
    data = await copy_rows(conn, rows)
    parsed = parse_unescaped(data, width)
    assert [column.to_pylist() for column in parsed] == [list(c) for c in zip(*rows, strict=True)]


async def test_a_block_may_start_with_a_byte_order_mark(conn: asyncpg.Connection) -> None:
    rows: list[tuple[str | None, ...]] = [("\ufeffbom", None), ("\ufeff", "")]
    data = await copy_rows(conn, rows)
    assert data.startswith(b"\xef\xbb\xbf")  # COPY does not escape it
    parsed = parse_unescaped(data, 2)
    assert [column.to_pylist() for column in parsed] == [["\ufeffbom", "\ufeff"], [None, ""]]


def test_blocks_parse_independently() -> None:
    columns = TextColumns(2)
    assert columns.parse(b"a\t\n")[1].to_pylist() == [""]
    assert columns.parse(b"x\\ny\t\\N\n")[0].to_pylist() == ["x\\ny"]  # escapes kept


def test_only_text_like_columns_are_unescaped() -> None:
    def column(kind: ValueKind) -> Column:
        return Column(name="c", sql_type=kind.value, pg_type=kind.value, kind=kind)

    assert {kind for kind in ValueKind if may_hold_escapes(column(kind))} == {
        ValueKind.TEXT, ValueKind.JSON, ValueKind.BYTEA
    }  # fmt: skip
    bytea = copy_text_converter(column(ValueKind.BYTEA))
    assert bytea(pa.array(["\\\\x00ff", None])).to_pylist() == [b"\x00\xff", None]


def test_unescape_reads_escapes_left_to_right() -> None:
    escaped = ["\\\\n", "\\\\\\n", "\\n\\\\", "a\\tb\\\\", "\\\\\\\\", None, "plain"]
    expected = ["\\n", "\\\n", "\n\\", "a\tb\\", "\\\\", None, "plain"]
    assert unescape(pa.array(escaped, pa.string())).to_pylist() == expected


def test_unescape_undoes_a_few_escaped_values_in_place() -> None:
    values = ["plain", None, "a\\tb", "", "x"] * 3  # 3 of 15 escaped: the masked path
    expected = ["plain", None, "a\tb", "", "x"] * 3
    assert unescape(pa.array(values, pa.string())).to_pylist() == expected


def test_no_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one column"):
        TextColumns(0)
