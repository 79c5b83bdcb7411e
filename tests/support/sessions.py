"""What the service's own PostgreSQL sessions are doing, seen from pg_stat_activity."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

#: The application_name the live test servers connect with.
APP = "exporter-live-tests"


async def _sessions(database_url: str, application_name: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(
            "SELECT pid, state, query, backend_start, query_start FROM pg_stat_activity"
            # Other test runs on the same server (CI, colleagues) use the same name.
            " WHERE application_name = $1 AND datname = current_database()",
            application_name,
        )
    finally:
        await conn.close()


def busy_sessions(database_url: str, application_name: str = APP) -> list[str]:
    """States of the service's sessions that run a query or hold a transaction open."""
    rows = asyncio.run(_sessions(database_url, application_name))
    return [
        f"{row['state']} {row['query'][:60]!r} {row['query_start']}"
        for row in rows
        if row["state"] != "idle"
    ]


def wait_until_idle(database_url: str, within_s: float, application_name: str = APP) -> float:
    """Seconds until the service holds no busy session; fails after ``within_s``."""
    started = time.monotonic()
    while busy := busy_sessions(database_url, application_name):
        if time.monotonic() - started > within_s:
            pytest.fail(f"still busy after {within_s} s: {busy}")
        time.sleep(0.02)
    return time.monotonic() - started
