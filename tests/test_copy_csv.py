"""COPY's CSV parsed by Arrow (``CsvColumns``) gives back exactly the values PostgreSQL held:
NULL apart from '', quotes, delimiters, line breaks and byte order marks included."""

from __future__ import annotations

import random

import asyncpg
import pytest

from exporter.copy_csv import CsvColumns

#: Characters COPY's CSV treats specially, and some it does not (which must pass untouched).
HOSTILE = ['"', ",", "\n", "\r", "\ufeff", "\\", ".", "N", " ", "\t", "é", "🎉", "a"]
EDGES = [None, "", '""', '"', ",", "\n", "\r", "\r\n", "\\.", "\\N", "NULL", " ", "\ufeff",
         "\ufeffx", 'say "hi", then\r\nleave']  # fmt: skip


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
    """PostgreSQL's CSV for ``rows`` (text columns), in order."""
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
        f"SELECT {names} FROM copy_csv_{width} ORDER BY k", output=sink, format="csv"
    )
    return bytes(out)


@pytest.mark.parametrize("width", [1, 3])
async def test_values_round_trip_through_copy_csv(conn: asyncpg.Connection, width: int) -> None:
    values = EDGES + random_values(3000, seed=width)
    rows = [tuple(values[(i + j) % len(values)] for j in range(width)) for i in range(len(values))]
    data = await copy_rows(conn, rows)
    parsed = CsvColumns(width).parse(data)
    assert [column.to_pylist() for column in parsed] == [list(c) for c in zip(*rows, strict=True)]


async def test_a_block_may_start_with_a_byte_order_mark(conn: asyncpg.Connection) -> None:
    rows: list[tuple[str | None, ...]] = [("\ufeffbom", None), ("\ufeff", "")]
    data = await copy_rows(conn, rows)
    assert data.startswith(b"\xef\xbb\xbf")  # unquoted: COPY does not quote it
    parsed = CsvColumns(2).parse(data)
    assert [column.to_pylist() for column in parsed] == [["\ufeffbom", "\ufeff"], [None, ""]]


def test_blocks_parse_independently() -> None:
    columns = CsvColumns(2)
    assert columns.parse(b'a,""\n')[1].to_pylist() == [""]
    assert columns.parse(b'"x\ny",\n')[0].to_pylist() == ["x\ny"]


def test_no_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one column"):
        CsvColumns(0)
