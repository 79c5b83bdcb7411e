"""The service behind a real PgBouncer in transaction mode (issue 17).

PgBouncer hands each transaction whatever server connection is free: a client's session
settings do not follow it, and a server connection may carry another session's. So this
PgBouncer's server connections start with every value-printing setting set wrong on purpose
(``connect_query``), and it has fewer server connections than the service's pool: the bytes
must still equal those of a server connected directly, on both read paths, with exports
running side by side (Arrow streams from COPY: once framed alike, see ``_framed_alike``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pyarrow as pa
import pytest

from tests.support.jobs import finished, submit, wait_for
from tests.support.pgbouncer import PgBouncer, running_pgbouncer
from tests.support.servers import LiveServer, start_server

#: Every setting that decides how a value prints, set unlike the service's on each server
#: connection PgBouncer opens.
HOSTILE_SESSION = (
    "SET IntervalStyle = 'sql_standard'; SET extra_float_digits = 0; SET bytea_output = 'escape';"
    " SET TimeZone = 'America/St_Johns'; SET DateStyle = 'SQL, DMY'"
)
POOLED_APP = "exporter-pgbouncer-tests"

#: Every format on both read paths, over every type's edge values (arrays too) and many rows.
PATHS = [
    f"/exports/{export}?format={fmt}" + "".join(f"&{extra}" for extra in (rows, cursor) if extra)
    for export, rows in (("zoo_scalars", ""), ("type_zoo", ""), ("numbers", "rows=20000"))
    for fmt in ("csv", "ndjson", "arrow", "parquet")
    for cursor in ("", "fetch_rows=500")
]


@pytest.fixture(scope="module")
def bouncer(database_url: str) -> Iterator[PgBouncer]:
    with running_pgbouncer(database_url, pool_size=2, connect_query=HOSTILE_SESSION) as running:
        yield running


@pytest.fixture(scope="module")
def direct(
    database_url: str, catalog_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = start_server(database_url, catalog_dir, tmp_path_factory.mktemp("direct"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def pooled(
    bouncer: PgBouncer,
    database_url: str,
    catalog_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    server = start_server(
        bouncer.url(database_url),
        catalog_dir,
        tmp_path_factory.mktemp("pooled"),
        EXPORTER_APPLICATION_NAME=POOLED_APP,
        EXPORTER_POOL_MAX_SIZE="6",
    )
    try:
        yield server
    finally:
        server.stop()


def _get(server: LiveServer, path: str) -> bytes:
    response = httpx.get(server.base_url + path, timeout=60)
    assert response.status_code == 200, response.text
    return _framed_alike(path, response.content)


def _framed_alike(path: str, body: bytes) -> bytes:
    """``body``, with an Arrow stream from COPY rewritten as one record batch.

    An Arrow stream from COPY sends its first COPY piece as a batch of its own, so its batch
    boundaries follow the network's timing, with or without a pooler (two direct requests
    differ too). Its schema, metadata and values are what must not differ: those are
    compared byte for byte, in one batch. Every other body is compared as sent.
    """
    if "format=arrow" not in path or "fetch_rows" in path:
        return body
    table = pa.ipc.open_stream(body).read_all().combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def test_pgbouncer_hands_out_hostile_sessions(bouncer: PgBouncer, database_url: str) -> None:
    """The premise: without the service's own settings, values would print differently."""

    async def show() -> list[str]:
        conn = await asyncpg.connect(bouncer.url(database_url), statement_cache_size=0)
        try:
            row = await conn.fetchrow(
                "SELECT '1 day 2 hours'::interval::text, (0.1::float8 + 0.2)::text,"
                " 'A'::bytea::text, '2024-03-01 12:00+00'::timestamptz::text"
            )
            assert row is not None
            return list(row)
        finally:
            await conn.close()

    assert asyncio.run(show()) == ["1 2:00:00", "0.3", "A", "01/03/2024 08:30:00 NST"]


def test_every_format_and_path_is_byte_identical_through_the_pooler(
    direct: LiveServer, pooled: LiveServer
) -> None:
    expected = {path: _get(direct, path) for path in PATHS}
    # All at once, three times over: the service's pool (6) shares PgBouncer's 2 server
    # connections, so statements and settings of one export meet another's server connection.
    with ThreadPoolExecutor(max_workers=6) as executor:
        pooled_bodies = list(executor.map(lambda p: (p, _get(pooled, p)), PATHS * 3))
    for path, body in pooled_bodies:
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256(expected[path]).hexdigest(), path
    assert '"outcome": "failed"' not in pooled.log()


def test_a_job_runs_through_the_pooler(bouncer: PgBouncer, pooled: LiveServer) -> None:
    with httpx.Client(base_url=pooled.base_url, timeout=30) as client:
        for fmt in ("csv", "parquet"):
            job = submit(client, export="numbers", params={"rows": 20_000}, format=fmt)
            done = wait_for(client, job["id"], finished)
            assert done["state"] == "succeeded", done
            assert done["rows"] == 20_000
            body = client.get(f"/jobs/{job['id']}/download").content
            assert body == client.get(f"/exports/numbers?rows=20000&format={fmt}").content


async def _busy_backends(database_url: str) -> list[str]:
    """The real server's sessions still running or holding the slow export's transaction."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT state, query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND state <> 'idle'"
            " AND query LIKE '%pg_sleep%'"
        )
    finally:
        await conn.close()
    return [f"{row['state']}: {row['query'][:60]!r}" for row in rows]


@pytest.mark.parametrize("query", ["format=csv", "format=ndjson&fetch_rows=200"])
def test_a_client_leaving_stops_the_query_through_the_pooler_within_a_second(
    pooled: LiveServer, database_url: str, query: str
) -> None:
    path = f"/exports/slow_numbers?rows=1000000&delay_s=0.0002&{query}"
    with httpx.Client(base_url=pooled.base_url, timeout=30) as client:
        with client.stream("GET", path) as response:
            assert response.status_code == 200
            chunks = response.iter_raw()  # held: a dropped iterator closes the connection
            next(chunks)
            assert asyncio.run(_busy_backends(database_url)), "the export is not running"
        left = time.monotonic()  # the connection is closed here, mid-stream
    while busy := asyncio.run(_busy_backends(database_url)):
        assert time.monotonic() - left < 1.0, f"still running after 1 s: {busy}"
        time.sleep(0.02)
    stopped_s = time.monotonic() - left
    print(f"query stopped {stopped_s * 1000:.0f} ms after the client left ({query})")
