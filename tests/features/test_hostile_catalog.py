"""Issue 19, low: an export whose SQL writes (DML, or a data-modifying WITH) passes PREPARE but
can never run in the export's READ ONLY snapshot: it is refused at start-up, naming the file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import asyncpg
import pytest

from exporter.errors import CatalogError
from exporter.export.service import ExportService
from exporter.settings import Settings
from tests.cli.test_main import logged_text, serve

WRITERS = {
    "insert": "INSERT INTO demo.customers (name, country) VALUES ('x', 'y') RETURNING id",
    "update": "UPDATE demo.orders SET note = 'x' WHERE id = :id RETURNING id",
    "delete": "DELETE FROM demo.orders WHERE id = -1 RETURNING id",
    "cte": "WITH gone AS (DELETE FROM demo.orders WHERE id = -1 RETURNING id)\nSELECT id FROM gone",
    # Runs even though nothing reads it:
    "unread_cte": "WITH d AS (DELETE FROM demo.orders WHERE false) SELECT 1 AS one",
}


@pytest.mark.parametrize("name", list(WRITERS))
async def test_a_writing_export_is_refused_at_start_up(
    settings: Settings, tmp_path: Path, database_url: str, name: str
) -> None:
    header = "-- Writes.\n-- param: id bigint = 1\n" if ":id" in WRITERS[name] else "-- Writes.\n"
    (tmp_path / f"{name}.sql").write_text(header + WRITERS[name] + "\n")
    conn = await asyncpg.connect(database_url)
    try:
        before = await conn.fetchval("SELECT count(*) FROM demo.customers")
    finally:
        await conn.close()
    with pytest.raises(CatalogError) as caught:
        await ExportService.start(dataclasses.replace(settings, sql_dir=tmp_path))
    assert caught.value.path == str(tmp_path / f"{name}.sql")
    assert "READ ONLY" in caught.value.reason
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM demo.customers") == before  # not run
    finally:
        await conn.close()


async def test_reading_exports_still_load(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "reads.sql").write_text(
        "-- Reads.\nWITH o AS (SELECT id FROM demo.orders) SELECT id FROM o LIMIT 1\n"
    )
    running = await ExportService.start(dataclasses.replace(settings, sql_dir=tmp_path))
    await running.close()


def test_serve_names_the_writing_file(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "oops.sql").write_text("-- Oops.\n" + WRITERS["cte"] + "\n")
    result = serve(tmp_path, database_url)
    assert result.returncode != 0
    assert f"{tmp_path / 'oops.sql'}:2: the query writes" in logged_text(result.stderr)
