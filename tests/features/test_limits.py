"""Rate, concurrency and output limits against a real uvicorn process, under concurrent load."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest

from tests.features.conftest import bearer
from tests.features.test_api_keys import assert_problem
from tests.support.jobs import finished, submit, wait_for
from tests.support.servers import LiveServer

#: About 3 s of slowly produced rows: long enough for every other request to arrive meanwhile.
SLOW_EXPORT = "/exports/slow_numbers?rows=150&delay_s=0.02&fetch_rows=10"


def concurrently(count: int, request: Callable[[], int]) -> list[int]:
    """Run ``request`` in ``count`` threads released at the same moment; their statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def run() -> None:
        barrier.wait()
        statuses.append(request())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def raw_get(server: LiveServer, path: str, token: str) -> socket.socket:
    """Send an authenticated GET on a raw socket and return it after the status line."""
    url = urlsplit(server.base_url)
    sock = socket.create_connection((url.hostname, url.port))
    request = f"GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\r\n"
    sock.sendall(request.encode())
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    return sock


def accepted_within(client: httpx.Client, path: str, within_s: float) -> float:
    """Seconds until ``path`` is answered 200 (and read to the end); fails after ``within_s``."""
    started = time.monotonic()
    while True:
        response = client.get(path)
        if response.status_code == 200:
            return time.monotonic() - started
        assert response.status_code == 429, response.text
        if time.monotonic() - started > within_s:
            pytest.fail(f"still refused after {within_s} s: {response.text}")
        time.sleep(0.05)


def test_rate_limit_is_429_with_retry_after_from_the_bucket(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    # 6 a minute, burst 2: two requests pass, the third waits for a token (10 s away).
    with httpx.Client(
        base_url=secured_server.base_url, headers=bearer(tokens["slow"]), timeout=10
    ) as client:
        assert [client.get("/exports").status_code for _ in range(2)] == [200, 200]
        refused = client.get("/exports")
        body = assert_problem(refused, 429, "rate-limited")
        assert body["requests_per_minute"] == 6
        assert refused.headers["retry-after"] in ("9", "10")
        assert client.get("/exports/numbers").status_code == 429  # streams count too
        assert client.get("/healthz").status_code == 200  # open paths do not
        metrics = client.get("/metrics").text
    assert 'cause="rate_limited",export="",format="",outcome="rejected"} 2.0' in metrics
    other = httpx.get(
        secured_server.base_url + "/exports", headers=bearer(tokens["full"]), timeout=10
    )
    assert other.status_code == 200  # each key has its own bucket


def test_rate_limit_holds_under_concurrent_requests(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    def request() -> int:
        response = httpx.get(
            secured_server.base_url + "/exports", headers=bearer(tokens["burst"]), timeout=30
        )
        return response.status_code

    statuses = concurrently(10, request)
    assert sorted(statuses) == [200] * 3 + [429] * 7


def test_exactly_the_key_concurrency_proceeds_under_concurrent_exports(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    refusals: list[httpx.Response] = []
    rows: list[int] = []

    def request() -> int:
        with httpx.Client(
            base_url=secured_server.base_url, headers=bearer(tokens["pair"]), timeout=60
        ) as client:
            response = client.get(SLOW_EXPORT)
        if response.status_code == 200:
            rows.append(response.text.count("\n"))
        else:
            refusals.append(response)
        return response.status_code

    statuses = concurrently(10, request)
    assert sorted(statuses) == [200] * 2 + [429] * 8
    assert rows == [150, 150]  # the two that proceeded completed
    for refused in refusals:
        body = assert_problem(refused, 429, "too-many-concurrent-exports")
        assert body["limit"] == 2
        assert refused.headers["retry-after"] == "1"
    with httpx.Client(
        base_url=secured_server.base_url, headers=bearer(tokens["pair"]), timeout=60
    ) as client:
        # Both slots came back: two at once are accepted again.
        statuses = concurrently(2, lambda: client.get(SLOW_EXPORT).status_code)
    assert statuses == [200, 200]


def test_slots_come_back_after_disconnect_failure_and_completion(
    secured_server: LiveServer, tokens: dict[str, str]
) -> None:
    token = tokens["single"]
    with httpx.Client(
        base_url=secured_server.base_url, headers=bearer(token), timeout=60
    ) as client:
        # Client disconnects in the middle of the stream.
        sock = raw_get(secured_server, "/exports/numbers?rows=50000000&format=csv", token)
        assert_problem(client.get("/exports/numbers"), 429, "too-many-concurrent-exports")
        sock.close()
        assert accepted_within(client, "/exports/numbers?rows=10", within_s=2.0) < 2.0
        # Failure after the first byte.
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/exports/fails_at_row?fail_at=5000&fetch_rows=1000")
        assert accepted_within(client, "/exports/numbers?rows=10", within_s=2.0) < 2.0
        # Aborted by the export's own cap.
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/exports/capped_rows?rows=5000")
        assert accepted_within(client, "/exports/numbers?rows=10", within_s=2.0) < 2.0
        # Refused before the first byte (bad parameter): takes no slot at all.
        assert client.get("/exports/numbers?rows=ten").status_code == 422
        # Completed, back to back.
        assert [client.get("/exports/numbers?rows=10").status_code for _ in range(3)] == [200] * 3


def test_global_cap_is_503_server_busy_and_counts_every_client(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory(EXPORTER_MAX_CONCURRENT_EXPORTS="1")
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        with client.stream("GET", SLOW_EXPORT) as holding:
            body = holding.iter_bytes()
            next(body)
            busy = client.get("/exports/numbers")
            problem = assert_problem(busy, 503, "server-busy")
            assert problem["limit"] == 1
            assert busy.headers["retry-after"] == "1"
            assert client.get("/healthz").status_code == 200
            assert client.get("/exports").status_code == 200  # only exports take a slot
            rest = b"".join(body)
        assert rest.count(b"\n") > 0
        assert client.get("/exports/numbers?rows=10").status_code == 200
    assert "rejected (server_busy): the server already runs 1 exports at once" in server.log()


def test_concurrent_burst_against_the_global_cap(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory(EXPORTER_MAX_CONCURRENT_EXPORTS="3")
    statuses = concurrently(
        10, lambda: httpx.get(server.base_url + SLOW_EXPORT, timeout=60).status_code
    )
    assert sorted(statuses) == [200] * 3 + [503] * 7


def test_output_caps_abort_the_transfer_visibly(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url, timeout=60) as client:
        complete = client.get("/exports/capped_rows?rows=1000&format=csv")
        assert complete.status_code == 200
        assert complete.text.count("\n") == 1001
        received = bytearray()
        with (
            pytest.raises(httpx.RemoteProtocolError),
            client.stream("GET", "/exports/capped_rows?rows=1001&format=csv") as over,
        ):
            assert over.status_code == 200
            for chunk in over.iter_bytes():
                received.extend(chunk)
        assert received.count(b"\n") <= 1001
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/exports/capped_bytes?rows=100000&format=csv")
    log = live_server.log()
    assert "export 'capped_rows' exceeded its max_rows of 1,000" in log
    assert "export 'capped_bytes' exceeded its max_bytes of 65,536" in log


def test_a_job_past_a_cap_fails_and_leaves_no_file(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
        job = submit(client, export="capped_rows", params={"rows": 1001}, format="csv")
        done = wait_for(client, job["id"], finished)
        assert done["state"] == "failed", done
        assert "exceeded its max_rows of 1,000" in done["error"]
        assert done["attempts"] == 1  # not retried: it would cross the cap again
        assert client.get(f"/jobs/{job['id']}/download").status_code == 409
