"""Shared fixtures: a real PostgreSQL database for this test run, and a real uvicorn server.

``TEST_DATABASE_URL`` names a server to use (``.ci/run`` points it at the local one); without it
the embedded PostgreSQL is started. Either way the run creates its own database, loads the demo
schema into it, and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from exporter.db.connections import connect, session_settings
from exporter.db.demo import load_demo
from exporter.export.service import ExportService
from exporter.observability.logs import redact_url
from exporter.settings import Settings
from tests.support.servers import LiveServer, start_server

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "sql" / "demo"
TEST_EXPORTS_DIR = Path(__file__).resolve().parent / "exports"
#: Orders in the test database's demo data: enough for several batches, quick to generate.
TEST_ORDERS = 5_000
SERVER_SETTINGS = session_settings(timezone="UTC", application_name="exporter-tests")


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server's URL (any database on it)."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    from exporter.db.embedded import start_embedded

    embedded = start_embedded(ROOT / ".data" / "tests")
    try:
        yield embedded.url
    finally:
        embedded.stop()


async def _admin_execute(server_url: str, sql: str) -> None:
    """Run one statement on its own connection (CREATE/DROP DATABASE cannot share a txn)."""
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A database of this test run's own, holding the demo schema; dropped afterwards.

    A server that cannot be reached ends the whole run at once, loudly (exit 3): a suite that
    skipped or errored test by test could hide that it never talked to a database.
    """
    name = f"exporter_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        await _admin_execute(server_url, f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(_with_database(server_url, name))
        try:
            await load_demo(conn, DEMO_DIR, orders=TEST_ORDERS)
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        pytest.exit(f"cannot reach the test database at {redact_url(server_url)}: {exc}", 3)
    try:
        yield _with_database(server_url, name)
    finally:
        asyncio.run(_admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped exports plus the test-only ones (slow, failing, huge), in one directory."""
    directory = tmp_path_factory.mktemp("exports")
    for source in (ROOT / "sql" / "exports", TEST_EXPORTS_DIR):
        for path in source.glob("*.sql"):
            shutil.copy(path, directory / path.name)
    return directory


@pytest.fixture
def settings(database_url: str, catalog_dir: Path) -> Settings:
    # Tests drive tiny batches on purpose; EXPORTER_FETCH_ROWS_MIN has its own tests.
    return Settings.from_env({}, database_url=database_url, sql_dir=catalog_dir, fetch_rows_min=1)


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[ExportService]:
    running = await ExportService.start(settings)
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection set up exactly like the service's (text values, fixed session settings)."""
    connection = await connect(database_url, server_settings=SERVER_SETTINGS)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def live_server(
    database_url: str, catalog_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One shared server with default settings for the HTTP tests."""
    server = start_server(database_url, catalog_dir, tmp_path_factory.mktemp("server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_factory(
    database_url: str, catalog_dir: Path, tmp_path: Path
) -> Iterator[Callable[..., LiveServer]]:
    """Start servers with their own settings (``EXPORTER_*`` overrides); stopped afterwards."""
    started: list[LiveServer] = []

    def factory(**env_overrides: str) -> LiveServer:
        env_overrides.setdefault("DATABASE_URL", database_url)
        url = env_overrides.pop("DATABASE_URL")
        server = start_server(url, catalog_dir, tmp_path, **env_overrides)
        started.append(server)
        return server

    yield factory
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=60) as client:
        yield client
