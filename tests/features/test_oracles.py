"""CSV and NDJSON against PostgreSQL's own output for the same query and parameters."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

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


async def copy_csv(
    conn: asyncpg.Connection, sql: str, values: tuple[str, ...], **options: str | bool
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
@pytest.mark.parametrize(("export", "items"), ORACLE_CASES)
async def test_csv_is_byte_identical_to_copy(
    service: ExportService,
    conn: asyncpg.Connection,
    export: str,
    items: list[tuple[str, str]],
    path: str,
    options: str,
) -> None:
    ours_options, copy_options = CSV_OPTIONS[options]
    request = service.bind(export, items)
    ours = await export_bytes(service, export, "csv", items + ours_options + PATHS[path])
    theirs = await copy_csv(conn, request.export.sql, request.values, **copy_options)
    if ("csv_bom", "true") in ours_options:
        assert ours.startswith(BOM)
        theirs = BOM + theirs
    assert ours.splitlines() == theirs.splitlines()  # readable diff first
    assert ours == theirs


def exact(line: str | bytes) -> Any:
    """Parse JSON keeping every digit and the key order."""
    return json.loads(line, parse_float=Decimal, object_pairs_hook=list)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("export", "items"), ORACLE_CASES)
async def test_ndjson_values_equal_to_json(
    service: ExportService,
    conn: asyncpg.Connection,
    export: str,
    items: list[tuple[str, str]],
    path: str,
) -> None:
    request = service.bind(export, items)
    ours = await export_bytes(service, export, "ndjson", items + PATHS[path])
    rows = await conn.fetch(
        f"SELECT to_json(q)::text FROM ({request.export.sql}) AS q", *request.values
    )
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
