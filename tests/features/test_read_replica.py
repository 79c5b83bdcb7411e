"""Exports from a hot standby (``EXPORTER_READ_DATABASE_URL``), job state on the primary.

The standby is real: ``pg_basebackup -R`` of the test server, streaming, on a loopback port
(``tests/support/standby.py``). Its ``max_standby_streaming_delay`` is short, so a change on
the primary that a running export's snapshot still needs cancels that export on the standby:
the client must see a truncated transfer, never a complete-looking one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.jobs import finished, submit, wait_for
from tests.support.servers import LiveServer, start_server
from tests.support.standby import Standby, running_standby, wait_replayed

APP = "exporter-standby-tests"
#: Slow enough to watch in pg_stat_activity, and to be caught by a recovery conflict.
SLOW = "/exports/slow_numbers?rows=2000&delay_s=0.002"


@pytest.fixture(scope="module")
def standby(database_url: str) -> Iterator[Standby]:
    with running_standby(database_url, max_standby_streaming_delay="100ms") as running:
        yield running


@pytest.fixture(scope="module")
def reading_server(
    standby: Standby,
    database_url: str,
    catalog_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    server = start_server(
        database_url,
        catalog_dir,
        tmp_path_factory.mktemp("standby"),
        EXPORTER_READ_DATABASE_URL=standby.url(database_url),
        EXPORTER_APPLICATION_NAME=APP,
    )
    try:
        yield server
    finally:
        server.stop()


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _running_here(url: str) -> int:
    """The service's sessions running the slow export on the server at ``url``."""
    rows = asyncio.run(
        _fetch(
            url,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1"
            " AND state <> 'idle' AND query LIKE '%pg_sleep%'",
            APP,
        )
    )
    return int(rows[0]["n"])


def _seen_on(database_url: str, standby: Standby) -> tuple[int, int]:
    """(sessions on the standby, sessions on the primary) running the slow export, once
    one is seen anywhere (within 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        on_standby, on_primary = (
            _running_here(standby.url(database_url)),
            _running_here(database_url),
        )
        if on_standby or on_primary:
            return on_standby, on_primary
        time.sleep(0.02)
    raise AssertionError("the slow export never showed up in pg_stat_activity")


def test_the_standby_is_a_replica(standby: Standby, database_url: str) -> None:
    rows = asyncio.run(_fetch(standby.url(database_url), "SELECT pg_is_in_recovery() AS r"))
    assert rows[0]["r"] is True


@pytest.mark.parametrize("query", ["format=csv", "format=arrow&fetch_rows=100"])
def test_an_export_reads_from_the_standby(
    reading_server: LiveServer, standby: Standby, database_url: str, query: str
) -> None:
    with httpx.Client(base_url=reading_server.base_url, timeout=60) as client:
        with client.stream("GET", f"{SLOW}&{query}") as response:
            assert response.status_code == 200
            seen = _seen_on(database_url, standby)
            body = response.read()
        assert seen == (1, 0)
        direct = client.get("/exports/orders?format=csv").content
    assert len(body) > 0
    assert direct.count(b"\n") > 1000  # a table's rows, read on the standby


def test_a_job_reads_rows_from_the_standby_and_keeps_its_state_on_the_primary(
    reading_server: LiveServer, standby: Standby, database_url: str
) -> None:
    with httpx.Client(base_url=reading_server.base_url, timeout=60) as client:
        job = submit(client, export="slow_numbers", params={"rows": 2000, "delay_s": 0.002})
        assert _seen_on(database_url, standby) == (1, 0)
        done = wait_for(client, job["id"], finished)
        assert done["state"] == "succeeded", done
        assert done["rows"] == 2000
    schema = f"jobs_{reading_server.base_url.rsplit(':', 1)[1]}"
    primary_rows = asyncio.run(
        _fetch(
            database_url, f'SELECT state, rows FROM "{schema}".jobs WHERE id = $1::uuid', job["id"]
        )
    )
    assert [(r["state"], r["rows"]) for r in primary_rows] == [("succeeded", 2000)]


def test_a_recovery_conflict_aborts_the_transfer_visibly(
    reading_server: LiveServer, standby: Standby, database_url: str
) -> None:
    asyncio.run(
        _execute(
            database_url,
            "DROP TABLE IF EXISTS standby_conflict",
            "CREATE TABLE standby_conflict AS SELECT g FROM generate_series(1, 1000) g",
        )
    )
    try:
        asyncio.run(wait_replayed(database_url, standby.url(database_url)))
        received = 0
        with httpx.Client(base_url=reading_server.base_url, timeout=60) as client:
            path = "/exports/slow_numbers?rows=20000&delay_s=0.001&format=csv"
            with pytest.raises(httpx.RemoteProtocolError), client.stream("GET", path) as response:
                assert response.status_code == 200
                for chunk in response.iter_raw():
                    if not received:
                        assert _seen_on(database_url, standby) == (1, 0)
                        # Rows the export's snapshot may still see, removed for good: the
                        # standby must cancel the export once 100 ms have passed.
                        asyncio.run(
                            _execute(
                                database_url,
                                "DELETE FROM standby_conflict",
                                "VACUUM standby_conflict",
                            )
                        )
                    received += len(chunk)
        assert received > 0
        log = reading_server.log()
        assert "conflict with recovery" in log, log[-2000:]
        assert "aborted after" in log
    finally:
        asyncio.run(_execute(database_url, "DROP TABLE IF EXISTS standby_conflict"))


def test_incremental_pulls_work_with_a_standby_configured(reading_server: LiveServer) -> None:
    """A pull and the next one (served by the primary, ``ExportService.pool_for``: this checks
    they work, not where they ran)."""
    with httpx.Client(base_url=reading_server.base_url, timeout=60) as client:
        first = client.get("/exports/orders_incremental?format=csv")
        assert first.status_code == 200
        assert first.content.count(b"\n") > 1000
        token = first.headers["exporter-watermark"]
        second = client.get("/exports/orders_incremental", params={"format": "csv", "after": token})
        assert second.status_code == 200
        assert second.content.count(b"\n") == 1  # the header: nothing new since
