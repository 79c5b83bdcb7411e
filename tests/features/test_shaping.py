"""Shaping any export: select, where.<column>, order and limit, over the service and HTTP."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.errors import InvalidParameter
from exporter.export.service import ExportService
from tests.support.servers import LiveServer
from tests.support.streams import export_bytes


def ndjson_rows(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in body.decode().splitlines()]


async def test_select_chooses_and_orders_the_columns(service: ExportService) -> None:
    body = await export_bytes(service, "orders", "csv", [("select", "status,id"), ("limit", "3")])
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["status", "id"]
    assert len(rows) == 4
    for fmt in ("ndjson", "arrow", "parquet"):
        out = await export_bytes(service, "orders", fmt, [("select", "status,id"), ("limit", "3")])
        assert out  # every format takes it; the oracles check the values


async def test_filters_are_anded_and_match_the_database(
    service: ExportService, conn: asyncpg.Connection
) -> None:
    items = [
        ("where.amount", "gte.100"),
        ("where.amount", "lt.300"),
        ("where.status", "in.(paid,refunded)"),
        ("where.note", "not.is.null"),
        ("select", "id"),
    ]
    body = await export_bytes(service, "orders", "ndjson", items)
    ours = [row["id"] for row in ndjson_rows(body)]
    theirs = await conn.fetch(
        "SELECT id FROM demo.orders WHERE amount >= 100 AND amount < 300"
        " AND status IN ('paid', 'refunded') AND note IS NOT NULL"
        " AND created_at >= '2024-01-01' ORDER BY id"
    )
    assert ours == [int(r["id"]) for r in theirs]
    assert 0 < len(ours) < 5000  # the filter kept some rows and dropped others


async def test_order_and_limit(service: ExportService, conn: asyncpg.Connection) -> None:
    items = [("select", "id,amount"), ("order", "amount.desc,id.asc"), ("limit", "25")]
    for path in ([], [("fetch_rows", "7")]):
        rows = ndjson_rows(await export_bytes(service, "orders", "ndjson", items + path))
        theirs = await conn.fetch(
            "SELECT id, amount FROM demo.orders WHERE created_at >= '2024-01-01'"
            " ORDER BY amount DESC, id LIMIT 25"
        )
        assert [(r["id"], r["amount"]) for r in rows] == [
            (int(r["id"]), Decimal(r["amount"])) for r in theirs
        ]


async def test_nulls_first_and_last(service: ExportService) -> None:
    items = [("select", "id,c_int"), ("order", "c_int.asc.nullsfirst,id")]
    first = ndjson_rows(await export_bytes(service, "type_zoo", "ndjson", items))
    assert first[0]["c_int"] is None and first[-1]["c_int"] is not None
    items = [("select", "id,c_int"), ("order", "c_int.asc.nullslast,id")]
    last = ndjson_rows(await export_bytes(service, "type_zoo", "ndjson", items))
    assert last[-1]["c_int"] is None and last[0]["c_int"] is not None


@pytest.mark.parametrize(
    ("items", "name", "says"),
    [
        ([("select", "id,nope,worse")], "select", "'nope', 'worse'; valid columns: id, created_at"),
        ([("select", "id,id")], "select", "'id' given more than once"),
        ([("select", "")], "select", "empty"),
        ([("where.nope", "eq.1")], "where.nope", "filterable columns: id, created_at"),
        ([("where.amount", "eq.ten")], "where.amount", "expected a decimal number, got 'ten'"),
        ([("where.quantity", "in.(1,x)")], "where.quantity", "not an integer"),
        ([("where.amount", "like.1%")], "where.amount", "op among: eq, neq, lt"),
        ([("where.amount", "between.1")], "where.amount", "unknown operator 'between'"),
        ([("where.amount", "is.true")], "where.amount", "needs a boolean column"),
        ([("where.attributes", "eq.{}")], "where.attributes", "jsonb cannot be filtered"),
        ([("where.id", "in.()")], "where.id", "at least one value"),
        ([("where.note", 'in.("open)')], "where.note", "not closed"),
        ([("order", "amount.sideways")], "order", "unknown column in 'amount.sideways'"),
        ([("order", "attributes")], "order", "cannot be ordered by"),
        ([("limit", "-1")], "limit", "expected an integer in [0, 1000000]"),
        ([("limit", "1000001")], "limit", "expected an integer in [0, 1000000]"),
        ([("limit", "1"), ("limit", "2")], "limit", "given more than once"),
        ([("after", "x")], "after", "declares no '-- watermark:'"),
    ],
)
def test_malformed_shaping_is_refused_naming_it(
    service: ExportService, items: list[tuple[str, str]], name: str, says: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        service.bind("orders", items)
    assert raised.value.name == name
    assert says in raised.value.reason


def test_an_export_can_turn_shaping_off_or_restrict_it(service: ExportService) -> None:
    with pytest.raises(InvalidParameter, match="turns shaping off"):
        service.bind("unshaped", [("limit", "1")])
    with pytest.raises(InvalidParameter) as raised:
        service.bind("filter_some", [("where.amount", "gt.1")])
    assert "not listed by the export's '-- filterable:'" in raised.value.reason
    assert "filterable columns: id, status" in raised.value.reason
    service.bind("filter_some", [("where.status", "eq.paid"), ("order", "amount")])


def test_over_http_422_names_the_parameter(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url) as http:
        response = http.get("/exports/orders", params={"where.amount": "gt.lots"})
        assert response.status_code == 422
        assert "where.amount" in response.text
        shaped = http.get("/exports/orders", params={"select": "id", "limit": "2"})
        assert shaped.status_code == 200
        lines = [json.loads(line) for line in shaped.text.splitlines()]
        assert len(lines) == 2 and all(list(line) == ["id"] for line in lines)
        listing = http.get("/exports").json()["exports"]
        orders = next(e for e in listing if e["name"] == "orders")
        assert "amount" in orders["filterable"] and "attributes" not in orders["filterable"]
        some = next(e for e in listing if e["name"] == "filter_some")
        assert some["filterable"] == ["id", "status"]
        document = http.get("/openapi.json").json()
        parameters = document["paths"]["/exports/orders"]["get"]["parameters"]
        names = {p["name"] for p in parameters}
        assert {"select", "order", "limit", "where.amount", "where.status"} <= names
        assert "where.attributes" not in names


# Hostile filter values in every operator, held to PostgreSQL with the test's own predicate.
_HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"'\\,%_()\n\t .NULL{}$")),
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    ),
    max_size=12,
)
#: Values the table holds, so that equality sometimes matches.
_STORED = ["\\.", "NULL", "  leading and trailing  ", ""]
_PREDICATES = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=",
               "like": "LIKE", "ilike": "ILIKE"}  # fmt: skip


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    op=st.sampled_from([*_PREDICATES, "in", "is"]),
    negated=st.booleans(),
    values=st.lists(st.one_of(_HOSTILE, st.sampled_from(_STORED)), min_size=1, max_size=4),
    fmt=st.sampled_from(["csv", "ndjson"]),
    cursor=st.booleans(),
)
async def test_hostile_values_in_every_operator(
    service: ExportService,
    conn: asyncpg.Connection,
    op: str,
    negated: bool,
    values: list[str],
    fmt: str,
    cursor: bool,
) -> None:
    if op == "in":
        argument = "(" + ",".join(_quoted(v) for v in values) + ")"
        placeholders = ", ".join(f"${n}" for n in range(1, len(values) + 1))
        predicate, bound = f"c_text IN ({placeholders})", values
    elif op == "is":
        argument, predicate, bound = "null", "c_text IS NULL", []
    else:
        argument, predicate, bound = values[0], f"c_text {_PREDICATES[op]} $1", values[:1]
    item = ("where.c_text", ("not." if negated else "") + f"{op}.{argument}")
    items = [item, ("fetch_rows", "3")] if cursor else [item]
    ours = await export_bytes(service, "zoo_text", fmt, items)
    where = f"NOT ({predicate})" if negated else f"({predicate})"
    query = f"SELECT c_text FROM demo.type_zoo WHERE {where} ORDER BY id"
    if fmt == "csv":
        out = bytearray()

        async def sink(data: bytes) -> None:
            out.extend(data)

        await conn.copy_from_query(query, *bound, output=sink, format="csv", header=True)
        assert ours == bytes(out)
    else:
        rows = await conn.fetch(query, *bound)
        assert [r["c_text"] for r in ndjson_rows(ours)] == [r["c_text"] for r in rows]


def test_over_http_a_watermark_export_answers_its_token_and_documents_it(
    live_server: LiveServer,
) -> None:
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        first = http.get("/exports/orders_incremental", params={"format": "csv"})
        assert first.status_code == 200
        token = first.headers["exporter-watermark"]
        rows = len(first.text.splitlines()) - 1
        assert rows > 0
        nothing_new = http.get(
            "/exports/orders_incremental", params={"format": "csv", "after": token}
        )
        assert nothing_new.text.splitlines() == ["id,created_at,status,amount"]
        forged = http.get("/exports/orders_incremental", params={"after": token[:-4] + "AAAA"})
        assert forged.status_code == 422 and "after" in forged.text
        assert "exporter-watermark" not in http.get("/exports/numbers").headers
        document = http.get("/openapi.json").json()
        ok = document["paths"]["/exports/orders_incremental"]["get"]["responses"]["200"]
        assert "Exporter-Watermark" in ok["headers"]
        plain = document["paths"]["/exports/numbers"]["get"]["responses"]["200"]
        assert "headers" not in plain
