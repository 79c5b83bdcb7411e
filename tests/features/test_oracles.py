"""CSV and NDJSON against PostgreSQL's own output for the same query and parameters."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from exporter.catalog.shaping import shaped_export
from exporter.export.service import ExportService
from tests.support.streams import export_bytes

ORACLE_CASES = [
    ("type_zoo", []),
    ("zoo_everything", []),
    ("zoo_text", []),
    ("json_whitespace", []),
    ("orders", [("since", "2024-03-01"), ("status", "paid")]),
    ("orders", [("since", "2999-01-01")]),  # empty result: header only
    ("customers", []),
    ("orders_by_day", []),
    ("numbers", [("rows", "25000")]),
    ("echo", [("t", 'a,"b"\n\\N;--\''), ("n", "-0.000000000000000000000000001")]),
]

#: Shaped requests (select, where.*, order, limit): the same oracles, of the shaped query.
SHAPED_CASES = [
    (
        "orders",
        [
            ("status", "any"),
            ("select", "amount,id,status"),
            ("where.status", "in.(paid,shipped)"),
            ("order", "amount.desc.nullslast,id"),
            ("limit", "50"),
        ],
    ),
    (
        "orders",
        [
            ("select", "id,note,created_at"),
            ("where.note", "not.is.null"),
            ("where.amount", "gte.100"),
            ("where.amount", "lt.500.5"),
            ("where.created_at", "gt.2024-01-01T00:00:00+02:00"),
        ],
    ),
    ("orders", [("where.note", "ilike.%A_%"), ("where.express", "is.true"), ("limit", "0")]),
    ("orders", [("where.quantity", "not.in.(1,2,3)"), ("order", "quantity.asc.nullsfirst")]),
    ("orders", [("where.customer_name", "neq.x"), ("select", "customer_name,id"), ("limit", "7")]),
    # Array columns left out: the COPY path serves what used to need the cursor.
    ("type_zoo", [("select", "c_text,id,c_numeric"), ("order", "c_text.desc,id")]),
    ("type_zoo", [("where.c_text", "is.null"), ("where.c_bool", "not.is.false")]),
    ("type_zoo", [("where.c_double", "lt.Infinity"), ("where.c_date", "lte.infinity")]),
    ("type_zoo", [("where.c_uuid", "neq.00000000-0000-0000-0000-000000000000")]),
    ("zoo_text", [("where.c_text", 'in.("a,b",\\N,"q\\"uote",plain)')]),
]


def oracle_query(service: ExportService, export: str, items: list[tuple[str, str]]) -> Any:
    """The SQL and values PostgreSQL itself is asked for: the shaped query when shaped."""
    request = service.bind(export, items)
    return shaped_export(request.export, request.shape, request.values)


async def copy_csv(
    conn: asyncpg.Connection, sql: str, values: tuple[str, ...], **options: Any
) -> bytes:
    out = bytearray()

    async def sink(data: bytes) -> None:
        out.extend(data)

    options = {"header": True, **options}
    await conn.copy_from_query(sql, *values, output=sink, format="csv", **options)
    return bytes(out)


#: The COPY path (the default) and the cursor path (fetch_rows given).
PATHS = {"copy": [], "cursor": [("fetch_rows", "1000")]}
#: The request's CSV options -> COPY's own (the byte order mark aside).
CSV_OPTIONS: dict[str, tuple[list[tuple[str, str]], dict[str, str | bool]]] = {
    "default": ([], {}),
    "semicolon-bom": ([("csv_delimiter", ";"), ("csv_bom", "true")], {"delimiter": ";"}),
    "tab-no-header": (
        [("csv_delimiter", "\t"), ("csv_header", "false")],
        {"delimiter": "\t", "header": False},
    ),
    "pipe-bom-no-header": (
        [("csv_delimiter", "|"), ("csv_bom", "true"), ("csv_header", "false")],
        {"delimiter": "|", "header": False},
    ),
    "spelt-tab-header": ([("csv_delimiter", "tab"), ("csv_header", "true")], {"delimiter": "\t"}),
}
BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("options", CSV_OPTIONS)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("export", "items"), ORACLE_CASES + SHAPED_CASES)
async def test_csv_is_byte_identical_to_copy(
    service: ExportService,
    conn: asyncpg.Connection,
    export: str,
    items: list[tuple[str, str]],
    path: str,
    options: str,
) -> None:
    ours_options, copy_options = CSV_OPTIONS[options]
    shaped, values = oracle_query(service, export, items)
    ours = await export_bytes(service, export, "csv", items + ours_options + PATHS[path])
    theirs = await copy_csv(conn, shaped.sql, values, **copy_options)
    if ("csv_bom", "true") in ours_options:
        assert ours.startswith(BOM)
        theirs = BOM + theirs
    assert ours.splitlines() == theirs.splitlines()  # readable diff first
    assert ours == theirs


def exact(line: str | bytes) -> Any:
    """Parse JSON keeping every digit and the key order."""
    return json.loads(line, parse_float=Decimal, object_pairs_hook=list)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("export", "items"), ORACLE_CASES + SHAPED_CASES)
async def test_ndjson_values_equal_to_json(
    service: ExportService,
    conn: asyncpg.Connection,
    export: str,
    items: list[tuple[str, str]],
    path: str,
) -> None:
    shaped, values = oracle_query(service, export, items)
    ours = await export_bytes(service, export, "ndjson", items + PATHS[path])
    rows = await conn.fetch(f"SELECT to_json(q)::text FROM ({shaped.sql}) AS q", *values)
    theirs = [exact(row[0]) for row in rows]
    assert ours.endswith(b"\n") or not rows
    lines = ours.decode("utf-8").split("\n")[:-1]
    assert len(lines) == len(rows)  # one line per row, whatever the values hold
    assert [exact(line) for line in lines] == theirs


@pytest.mark.parametrize("path", PATHS)
async def test_ndjson_keeps_every_digit(service: ExportService, path: str) -> None:
    ours = await export_bytes(
        service,
        "echo",
        "ndjson",
        [("b", "9223372036854775807"), ("n", "1" * 60 + ".25"), *PATHS[path]],
    )
    row = exact(ours)
    values = dict(row)
    assert values["b"] == 9223372036854775807
    assert values["n"] == Decimal("1" * 60 + ".25")
    assert b'"n":' + b"1" * 60 + b".25" in ours
