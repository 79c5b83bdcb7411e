"""NDJSON, Arrow and Parquet from COPY's CSV (the default path) against the cursor path
(fetch_rows given), on every export of the test catalog: the very same NDJSON and Parquet
bytes, and the same Arrow tables, schema and field metadata included (read back with
pyarrow)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exporter.errors import EncodingFailed
from exporter.export import service as service_module
from exporter.export.plans import copy_plan
from exporter.export.pumps import pump_copy_columns
from exporter.export.service import ExportService
from exporter.settings import Settings
from tests.support.streams import export_bytes

CASES = [
    ("zoo_scalars", []),  # every scalar type_zoo column: NaN, infinities, BC, unicode, bytea
    ("copy_edges", []),  # BOM, lone CR, quotes, years past 9999, infinity next to BC
    ("zoo_text", []),  # one column: NULL is an empty line, '' is ""
    ("type_zoo", []),  # arrays: stays on the cursor path
    ("json_whitespace", []),  # an array column too
    ("orders", [("since", "2024-03-01"), ("status", "paid")]),
    ("orders", [("since", "2999-01-01")]),  # empty result
    ("orders_stream", []),
    ("customers", []),
    ("orders_by_day", []),
    ("numbers", [("rows", "25000")]),
    ("echo", [("t", 'a,"b"\n\\N;--\''), ("n", "-0.000000000000000000000000001")]),
    ("données", []),
    ("fails_at_row", [("rows", "100"), ("fail_at", "1000")]),
    ("slow_first_row", [("delay_s", "0")]),
    ("strict_timeout", [("rows", "5")]),
    ("capped_bytes", [("rows", "100")]),
    ("capped_rows", [("rows", "100")]),  # max_rows: stays on the cursor path
    ("sensitive_echo", [("token", 'x,"y"\n'), ("code", "7")]),
    ("orders_incremental", []),  # a watermark export: its bound applies to both paths
    ("unshaped", []),  # -- shaping: off
    ("filter_some", []),  # -- filterable: id, status
]
#: Exports not compared, and why.
NOT_COMPARED = {
    "slow_numbers": "its produced_at is clock_timestamp(): different on every run",
    "zoo_everything": "a 2-D array aborts Arrow on both paths (test below)",
}
#: Exports that must take the COPY path (their columns are all scalars).
COPY_EXPORTS = {"zoo_scalars", "copy_edges", "zoo_text", "orders", "numbers", "echo"}


def read_table(fmt: str, data: bytes) -> pa.Table:
    if fmt == "arrow":
        return pa.ipc.open_stream(data).read_all()
    return pq.read_table(io.BytesIO(data))


def assert_same_table(ours: pa.Table, theirs: pa.Table) -> None:
    """``Table.equals`` with metadata, except that NaN equals NaN (same bits, same text)."""
    assert ours.schema.equals(theirs.schema, check_metadata=True), (ours.schema, theirs.schema)
    assert ours.num_rows == theirs.num_rows
    for name in ours.column_names:
        a, b = ours.column(name).combine_chunks(), theirs.column(name).combine_chunks()
        if pa.types.is_floating(a.type):
            bits = pa.int32() if a.type == pa.float32() else pa.int64()
            a, b = a.view(bits), b.view(bits)
        assert a.equals(b), (name, a.to_pylist(), b.to_pylist())


@pytest.fixture(params=[1024, None], ids=["blocks-1KiB", "blocks-default"])
async def block_service(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[ExportService]:
    """The service with tiny COPY blocks (many record batches, pieces gathered) or defaults."""
    overrides = {} if request.param is None else {"copy_block_bytes": request.param}
    running = await ExportService.start(Settings.from_env({}, **{**_fields(settings), **overrides}))
    try:
        yield running
    finally:
        await running.close()


def _fields(settings: Settings) -> dict[str, Any]:
    return {
        "database_url": settings.database_url,
        "sql_dir": settings.sql_dir,
        "fetch_rows_min": settings.fetch_rows_min,
    }


@pytest.fixture
def copy_pumps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each export that went through the COPY-to-columns pump."""
    calls: list[str] = []
    real: Callable[..., Any] = pump_copy_columns

    async def spy(*args: Any, **kwargs: Any) -> None:
        calls.append("copy")
        await real(*args, **kwargs)

    monkeypatch.setattr(service_module, "pump_copy_columns", spy)
    return calls


@pytest.mark.parametrize("fmt", ["ndjson", "arrow", "parquet"])
@pytest.mark.parametrize(("export", "items"), CASES)
async def test_copy_path_equals_cursor_path(
    block_service: ExportService,
    copy_pumps: list[str],
    export: str,
    items: list[tuple[str, str]],
    fmt: str,
) -> None:
    definition = block_service.catalog[export]
    on_copy = copy_plan(fmt, definition.columns) is not None and definition.max_rows is None
    assert on_copy or export not in COPY_EXPORTS
    ours = await export_bytes(block_service, export, fmt, items)
    assert copy_pumps == (["copy"] if on_copy else [])
    theirs = await export_bytes(block_service, export, fmt, [*items, ("fetch_rows", "7")])
    assert copy_pumps == (["copy"] if on_copy else [])  # fetch_rows: the cursor path
    if fmt == "ndjson":
        assert ours.splitlines() == theirs.splitlines()  # readable diff first
    else:
        assert_same_table(read_table(fmt, ours), read_table(fmt, theirs))
    # NDJSON's lines and Parquet's row groups (exactly row_group_rows) depend on the rows
    # alone: the same bytes whatever the path.
    if fmt != "arrow":
        assert ours == theirs


def exact(document: bytes) -> Any:
    """JSON with every digit (``Decimal``) and each object's keys in order."""
    return json.loads(document, parse_float=Decimal, object_pairs_hook=list)


@pytest.mark.parametrize("path", ["copy", "cursor"])
@pytest.mark.parametrize(
    ("export", "items"), [*CASES, ("zoo_everything", [])]
)  # zoo_everything: a 2-D array, on the cursor path
async def test_json_is_the_ndjson_objects_in_one_array(
    block_service: ExportService,
    copy_pumps: list[str],
    export: str,
    items: list[tuple[str, str]],
    path: str,
) -> None:
    definition = block_service.catalog[export]
    on_copy = path == "copy" and copy_plan("json", definition.columns) is not None
    on_copy = on_copy and definition.max_rows is None
    assert on_copy or path == "cursor" or export not in COPY_EXPORTS
    more = [("fetch_rows", "7")] if path == "cursor" else []
    document = await export_bytes(block_service, export, "json", [*items, *more])
    assert copy_pumps == (["copy"] if on_copy else [])
    lines = (await export_bytes(block_service, export, "ndjson", [*items, *more])).split(b"\n")
    assert lines.pop() == b""
    assert exact(document) == [exact(line) for line in lines]
    assert document == b"[" + b",\n".join(lines) + b"]\n"  # one object per line, as NDJSON


def test_every_export_is_compared(service: ExportService) -> None:
    compared = {name for name, _ in CASES}
    assert set(service.catalog) == compared | set(NOT_COMPARED)


async def test_array_exports_stay_on_the_cursor_path(service: ExportService) -> None:
    assert copy_plan("arrow", service.catalog["type_zoo"].columns) is None
    assert copy_plan("ndjson", service.catalog["type_zoo"].columns) is None
    assert copy_plan("csv", service.catalog["type_zoo"].columns) is not None
    # The multidimensional array aborts exactly as it does with fetch_rows.
    with pytest.raises(EncodingFailed, match="multidimensional arrays"):
        await export_bytes(service, "zoo_everything", "arrow")


async def test_copy_batches_hold_whole_blocks(service: ExportService) -> None:
    data = await export_bytes(service, "numbers", "arrow", [("rows", "100000")])
    sizes = [batch.num_rows for batch in pa.ipc.open_stream(data)]
    assert sum(sizes) == 100_000
    # The first COPY piece goes alone (the first bytes leave early), then blocks of about
    # EXPORTER_COPY_BLOCK_BYTES: far fewer, larger batches than fetch_rows would give.
    assert sizes[0] < sizes[1]
    assert len(sizes) < 100_000 / 1000


async def test_parquet_row_groups_do_not_depend_on_the_path(settings: Settings) -> None:
    small_groups = Settings.from_env({}, **_fields(settings), parquet_row_group_rows=40_000)
    running = await ExportService.start(small_groups)
    try:
        items = [("rows", "150000")]
        ours = await export_bytes(running, "numbers", "parquet", items)
        theirs = await export_bytes(running, "numbers", "parquet", [*items, ("fetch_rows", "999")])
    finally:
        await running.close()
    metadata = pq.ParquetFile(io.BytesIO(ours)).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [40_000, 40_000, 40_000, 30_000]
    assert ours == theirs


async def test_a_user_type_named_like_a_builtin_is_text_on_both_paths(
    settings: Settings, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    """A user enum called ``uuid`` is text, not a uuid: its values hold a quote, a backslash
    and a tab, which the uuid rules would leave unescaped."""
    schema = f"exporter_shadow_{os.getpid()}"
    await conn.execute(
        f"CREATE SCHEMA {schema}; CREATE TYPE {schema}.uuid AS ENUM ('a\"b', 'c\\d', 'e\tf')"
    )
    try:
        (tmp_path / "shadowed.sql").write_text(
            f"SELECT v::{schema}.uuid AS v FROM (VALUES ('a\"b'), ('c\\d'), ('e\tf')) AS q(v)\n",
            encoding="utf-8",
        )
        running = await ExportService.start(
            Settings.from_env(
                {}, database_url=settings.database_url, sql_dir=tmp_path, fetch_rows_min=1
            )
        )
        try:
            assert [c.pg_type for c in running.catalog["shadowed"].columns] == [f"{schema}.uuid"]
            outputs = {
                (fmt, path): await export_bytes(running, "shadowed", fmt, items)
                for fmt in ("ndjson", "arrow")
                for path, items in (("copy", []), ("cursor", [("fetch_rows", "7")]))
            }
        finally:
            await running.close()
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    assert outputs["ndjson", "copy"] == outputs["ndjson", "cursor"]
    lines = outputs["ndjson", "copy"].splitlines()
    assert [json.loads(line) for line in lines] == [{"v": 'a"b'}, {"v": "c\\d"}, {"v": "e\tf"}]
    assert_same_table(
        read_table("arrow", outputs["arrow", "copy"]),
        read_table("arrow", outputs["arrow", "cursor"]),
    )
