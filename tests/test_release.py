"""Giving connections back: every path ends with the connection released, none raises."""

from __future__ import annotations

import asyncpg

from exporter.db.connections import release_connection


async def test_release_after_the_pool_was_terminated_is_quiet(database_url: str) -> None:
    # Shutdown after the grace period terminates the pool under running exports; their
    # cleanup then finds the connection already detached and must not raise.
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    conn = await pool.acquire()
    transaction = conn.transaction()
    await transaction.start()
    pool.terminate()
    await release_connection(pool, conn, transaction)


async def test_release_rolls_back_and_returns_the_connection(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("CREATE TEMP TABLE scratch (n int)")
        await release_connection(pool, conn, transaction)
        assert pool.get_idle_size() == 1
        async with pool.acquire() as again:
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT to_regclass('pg_temp.scratch')") is None
    finally:
        await pool.close()
