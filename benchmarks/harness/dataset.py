"""The benchmark's databases: one per data set size, created once and reused across runs.

Each holds the demo schema (``sql/demo/schema.sql``) filled by ``demo.generate(rows)``. A small
``bench_meta`` table records the row count and a hash of the schema file, so a later run
regenerates only when either changed (generating 5,000,000 rows takes minutes).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

log = logging.getLogger(__name__)

_META_DDL = "CREATE TABLE IF NOT EXISTS public.bench_meta (key text PRIMARY KEY, value text)"


def database_name(rows: int) -> str:
    """The database that holds the ``rows``-order data set (one per size, so sizes coexist)."""
    return f"exporter_bench_r{rows}"


def with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database`` instead of its own."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def schema_digest(schema_sql: Path) -> str:
    """A short hash of the schema file: a changed generator means regenerated data."""
    return hashlib.sha256(schema_sql.read_bytes()).hexdigest()[:16]


def ensure_dataset(server_url: str, schema_sql: Path, rows: int) -> str:
    """The URL of a database holding exactly ``rows`` demo orders, generating them if needed."""
    return asyncio.run(_ensure(server_url, schema_sql, rows))


async def _ensure(server_url: str, schema_sql: Path, rows: int) -> str:
    name = database_name(rows)
    admin = await asyncpg.connect(server_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server_url, name)
    digest = schema_digest(schema_sql)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_META_DDL)
        meta = dict(await conn.fetch("SELECT key, value FROM public.bench_meta"))
        if meta.get("orders") == str(rows) and meta.get("schema") == digest:
            return url
        started_s = time.monotonic()
        log.info("generating %d demo orders in database %s (once per size)", rows, name)
        await conn.execute(schema_sql.read_text(encoding="utf-8"))
        await conn.execute("SELECT demo.generate($1::bigint)", rows, timeout=None)
        # A freshly loaded table makes its first readers set hint bits (writes) and wakes
        # autovacuum mid-benchmark: freeze it now so every run reads the same clean pages.
        await conn.execute("VACUUM (FREEZE, ANALYZE) demo.orders, demo.customers", timeout=None)
        await conn.executemany(
            "INSERT INTO public.bench_meta (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [("orders", str(rows)), ("schema", digest)],
        )
        log.info("generated %d orders in %.0f s", rows, time.monotonic() - started_s)
    finally:
        await conn.close()
    return url


def drop_dataset(server_url: str, rows: int) -> None:
    """Drop the ``rows``-order database (for callers that do not want to keep it)."""

    async def drop() -> None:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database_name(rows)}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())
