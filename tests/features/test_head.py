"""HEAD: what GET would answer, status and headers, without a body, and for an export without
running the query (link checkers, uptime monitors, and readers that probe first: polars,
DuckDB's httpfs). Ranges on a stream are ignored: the whole export, once."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import asyncpg
import httpx
import pytest

from tests.features.conftest import KEY_SPECS
from tests.support.servers import LiveServer

#: Headers that differ between any two responses, or with the framing the server picks.
_VOLATILE = {"date", "x-request-id", "transfer-encoding", "content-length"}
#: The timestamp in a download's filename: it differs between any two requests.
_STAMP = re.compile(r"\d{8}T\d{6}\.\d{6}Z")


def comparable(response: httpx.Response) -> dict[str, str]:
    """The response's headers, less what differs between two identical requests."""
    return {
        name: _STAMP.sub("<stamp>", value)
        for name, value in response.headers.items()
        if name not in _VOLATILE
    }


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=60) as client:
        yield client


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/exports/orders", {}),
        ("/exports/orders?format=csv&csv_bom=true&csv_delimiter=%3B", {}),
        ("/exports/orders?format=json", {"Accept-Encoding": "gzip"}),
        ("/exports/orders", {"Accept": "application/vnd.apache.parquet"}),
        ("/exports/orders?format=arrow&compress=always", {"Accept-Encoding": "zstd"}),
        ("/exports/numbers?rows=5&format=csv", {"Accept-Encoding": "br, gzip;q=0.5"}),
        ("/exports/donn%C3%A9es", {}),
        # Refused as GET refuses: the same status and problem headers.
        ("/exports/nope", {}),
        ("/exports/orders?since=yesterday", {}),
        ("/exports/orders?format=xlsx", {}),
        ("/exports/orders", {"Accept": "image/png"}),
        ("/exports/orders", {"Accept-Encoding": "identity;q=0, deflate"}),
        ("/exports/orders?csv_bom=true", {"Accept": "application/json"}),
        # Not exports: their GET runs, and the server sends no body.
        ("/exports", {}),
        ("/healthz", {}),
        ("/readyz", {}),
        ("/metrics", {}),
    ],
)
def test_head_answers_what_get_does_without_a_body(
    http: httpx.Client, url: str, headers: dict[str, str]
) -> None:
    head = http.head(url, headers=headers)
    get = http.get(url, headers=headers)
    assert head.status_code == get.status_code
    assert comparable(head) == comparable(get)
    assert head.content == b""
    if get.status_code == 200 and url.startswith("/exports/"):
        assert head.headers["accept-ranges"] == "none"
        assert "content-length" not in head.headers  # a stream has no length


@pytest.mark.parametrize("url", ["/exports", "/healthz"])
def test_head_of_a_json_answer_has_its_length(http: httpx.Client, url: str) -> None:
    identity = {"Accept-Encoding": "identity"}
    length = http.head(url, headers=identity).headers["content-length"]
    assert int(length) == len(http.get(url, headers=identity).content) > 0


def test_head_checks_the_key_and_its_exports(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    url = secured_server.base_url + "/exports/numbers"
    assert httpx.head(url, timeout=10).status_code == 401
    orders_only = {"Authorization": f"Bearer {tokens['orders-only']}"}
    assert httpx.head(url, headers=orders_only, timeout=10).status_code == 403
    full = {"Authorization": f"Bearer {tokens['full']}"}
    assert httpx.head(url, headers=full, timeout=10).status_code == 200
    assert KEY_SPECS["orders-only"][0] == ["orders", "cust*"]  # numbers is not among them


def test_head_is_refused_while_the_key_runs_its_maximum_of_exports(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    assert KEY_SPECS["single"][0] == ["*"]  # concurrent_exports = 1
    with httpx.Client(
        base_url=secured_server.base_url,
        headers={"Authorization": f"Bearer {tokens['single']}"},
        timeout=30,
    ) as client:
        slow = "/exports/slow_numbers?rows=1000&delay_s=0.01&fetch_rows=10"
        with client.stream("GET", slow) as running:
            assert running.status_code == 200
            refused = client.head("/exports/numbers")
            assert refused.status_code == 429
            assert refused.headers["retry-after"]
        deadline = time.monotonic() + 10
        while (status := client.head("/exports/numbers").status_code) != 200:
            assert status == 429 and time.monotonic() < deadline
            time.sleep(0.05)


def _queries_since(database_url: str, application_name: str, since: datetime) -> list[str]:
    """Statements the service's sessions started since ``since`` (the database's clock)."""

    async def fetch() -> list[str]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT query FROM pg_stat_activity WHERE application_name = $1"
                " AND datname = current_database() AND query_start >= $2",
                application_name,
                since,
            )
        finally:
            await conn.close()
        return [row["query"] for row in rows]

    return asyncio.run(fetch())


def _database_now(database_url: str) -> datetime:
    async def fetch() -> datetime:
        conn = await asyncpg.connect(database_url)
        try:
            now: datetime = await conn.fetchval("SELECT clock_timestamp()")
        finally:
            await conn.close()
        return now

    return asyncio.run(fetch())


@pytest.mark.parametrize("query", ["format=csv", "format=parquet", "fetch_rows=10"])
def test_head_runs_nothing_on_postgresql(
    server_factory: Callable[..., LiveServer], database_url: str, query: str
) -> None:
    name = "exporter-head-tests"
    server = server_factory(EXPORTER_APPLICATION_NAME=name)
    url = f"{server.base_url}/exports/orders?status=paid&{query}"
    since = _database_now(database_url)
    for _ in range(3):
        assert httpx.head(url, timeout=30).status_code == 200
    assert _queries_since(database_url, name, since) == []
    # The control: the same request as GET does reach PostgreSQL, and is seen here.
    assert httpx.get(url, timeout=30).status_code == 200
    deadline = time.monotonic() + 10
    while not _queries_since(database_url, name, since):
        assert time.monotonic() < deadline, "the GET's statements never showed"
        time.sleep(0.05)


def test_a_range_on_a_stream_is_ignored(http: httpx.Client) -> None:
    url = "/exports/numbers?rows=2000&format=csv"
    whole = http.get(url)
    ranged = http.get(url, headers={"Range": "bytes=0-1"})
    assert ranged.status_code == 200
    assert ranged.headers["accept-ranges"] == "none"
    assert "content-range" not in ranged.headers
    assert ranged.content == whole.content and len(whole.content) > 2
