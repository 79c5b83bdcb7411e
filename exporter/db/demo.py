"""Loading the demo schema and data (``sql/demo/``) into a database."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)


async def demo_loaded(conn: asyncpg.Connection) -> bool:
    """True when the demo schema exists and holds orders."""
    exists = await conn.fetchval("SELECT to_regclass('demo.orders') IS NOT NULL")
    if not exists:
        return False
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM demo.orders)"))


async def load_demo(conn: asyncpg.Connection, demo_dir: Path, *, orders: int) -> None:
    """Create the demo schema (idempotent) and generate ``orders`` orders."""
    started_s = time.monotonic()
    await conn.execute((demo_dir / "schema.sql").read_text(encoding="utf-8"))
    await conn.execute("SELECT demo.generate($1::bigint)", orders)
    log.info("demo data loaded: %d orders in %.1f s", orders, time.monotonic() - started_s)


async def ensure_demo(url: str, demo_dir: Path, *, orders: int) -> None:
    """Load the demo into the database at ``url`` unless it is there already (first start)."""
    conn = await asyncpg.connect(url)
    try:
        if not await demo_loaded(conn):
            log.info("loading demo data (%d orders), first start only", orders)
            await load_demo(conn, demo_dir, orders=orders)
    finally:
        await conn.close()
