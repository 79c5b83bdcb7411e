"""Giving connections back: every path ends with the connection released, none raises, and
the ledger sees a connection that was not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from exporter.db.connections import PoolLedger, acquire, release_connection


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created: asyncpg.Pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        yield created
    finally:
        await created.close()


class _RollbackRaises:
    """A transaction whose ROLLBACK fails the way asyncpg's did mid-COPY (issue 12)."""

    async def rollback(self) -> None:
        raise asyncpg.InternalClientError(
            "cannot switch to state 15; another operation (2) is in progress"
        )


async def test_a_rollback_that_raises_anything_still_gives_the_connection_back(
    pool: asyncpg.Pool,
) -> None:
    ledger = PoolLedger()
    conn = await acquire(pool, 5, ledger)
    assert ledger.in_use == 1
    await release_connection(pool, conn, _RollbackRaises(), ledger=ledger)
    assert ledger.in_use == 0
    with pytest.raises(asyncpg.InterfaceError):
        conn.is_closed()  # the proxy is detached: the pool has the connection back
    # Both of the pool's connections can still be had at once.
    first, second = await acquire(pool, 2, ledger), await acquire(pool, 2, ledger)
    assert await first.fetchval("SELECT 1") == await second.fetchval("SELECT 1") == 1
    for held in (first, second):
        await release_connection(pool, held, ledger=ledger)
    assert ledger.in_use == 0 and ledger.lost == 0


async def test_an_interrupted_copy_is_given_back_without_a_rollback_from_a_cancelled_task(
    pool: asyncpg.Pool,
) -> None:
    ledger = PoolLedger()
    started = asyncio.Event()

    async def export() -> None:
        conn = await acquire(pool, 5, ledger)
        transaction = conn.transaction(isolation="repeatable_read", readonly=True)
        await transaction.start()

        async def sink(_: bytes) -> None:
            started.set()
            await asyncio.sleep(3600)  # a client that stopped reading

        try:
            await conn.copy_from_query("SELECT g FROM generate_series(1, 10000000) g", output=sink)
        finally:
            await release_connection(pool, conn, transaction, ledger=ledger, interrupted=True)

    task = asyncio.create_task(export())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ledger.in_use == 0
    copies_running = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND state = 'active'"
        " AND datname = current_database() AND pid <> pg_backend_pid()"
    )
    assert copies_running == 0


async def test_the_ledger_counts_a_holder_that_ended_without_giving_back_as_lost() -> None:
    ledger = PoolLedger()
    stand_in = object()  # the ledger only keys by identity

    async def leaky() -> None:
        ledger.checked_out(stand_in)  # type: ignore[arg-type]

    await asyncio.create_task(leaky())
    assert (ledger.in_use, ledger.lost) == (1, 1)
    ledger.given_back(stand_in)  # type: ignore[arg-type]
    assert (ledger.in_use, ledger.lost) == (0, 0)


async def test_release_after_the_pool_was_terminated_is_quiet(database_url: str) -> None:
    # Shutdown after the grace period terminates the pool under running exports; their
    # cleanup then finds the connection already detached and must not raise.
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    conn = await pool.acquire()
    transaction = conn.transaction()
    await transaction.start()
    pool.terminate()
    await release_connection(pool, conn, transaction, ledger=PoolLedger())


async def test_release_rolls_back_and_returns_the_connection(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("CREATE TEMP TABLE scratch (n int)")
        await release_connection(pool, conn, transaction, ledger=PoolLedger())
        assert pool.get_idle_size() == 1
        async with pool.acquire() as again:
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT to_regclass('pg_temp.scratch')") is None
    finally:
        await pool.close()
