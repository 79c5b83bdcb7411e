"""Issue 19, lows of the job API: Unicode digits in ``limit``, a brotli file's media type, and
a malformed ``Range`` (ignored, as RFC 9110 14.2 asks: the whole file, 200)."""

from __future__ import annotations

from collections.abc import Iterator

import brotli
import httpx
import pytest

from tests.support.jobs import finished, submit, wait_for
from tests.support.servers import LiveServer


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        yield http


@pytest.mark.parametrize("limit", ["²", "١٢", "５", "-1", "0", "1001", ""])
def test_a_limit_that_is_not_ascii_digits_in_range_is_422(client: httpx.Client, limit: str) -> None:
    response = client.get("/jobs", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["parameter"] == "limit"


def _finished_job(client: httpx.Client, compression: str) -> dict[str, object]:
    job = submit(client, export="numbers", params={"rows": 2000}, format="csv",
                 compression=compression)  # fmt: skip
    done = wait_for(client, str(job["id"]), finished)
    assert done["state"] == "succeeded", done
    return done


def test_a_brotli_job_file_is_served_as_brotli(client: httpx.Client) -> None:
    job = _finished_job(client, "br")
    response = client.get(f"/jobs/{job['id']}/download")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-brotli"
    assert brotli.decompress(response.content).count(b"\n") == 2001


@pytest.mark.parametrize("malformed", ["bytes", "pages=0-10", "bytes=", "bytes=10-5", "bytes=x-y"])
def test_a_malformed_range_is_ignored(client: httpx.Client, malformed: str) -> None:
    job = _finished_job(client, "none")
    full = client.get(f"/jobs/{job['id']}/download")
    response = client.get(f"/jobs/{job['id']}/download", headers={"Range": malformed})
    assert response.status_code == 200
    assert response.content == full.content
    ranged = client.get(f"/jobs/{job['id']}/download", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == full.content[:10]


@pytest.mark.parametrize(
    "body",
    [
        b'{"export": "echo", "params": {"t": "a", "t": "b"}}',
        b'{"export": "echo", "export": "numbers"}',
        b'{"export": "echo", "params": {"t": 0.1000000000000000055511151231257827}}',
        b'{"export": "echo", "params": {"t": 1e400}}',
        b'{"export": "echo", "params": {"t": NaN}}',
        b'{"export": "echo", "params": {"t": "\xff"}}',
    ],
)
def test_ambiguous_json_is_422(client: httpx.Client, body: bytes) -> None:
    response = client.post("/jobs", content=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (b"123456789012345678901234567890", "123456789012345678901234567890"),
        (b"2.5", "2.5"),
        (b"0.01", "0.01"),
        (b"1e2", "100.0"),
    ],
)
def test_numbers_are_kept_exactly(client: httpx.Client, number: bytes, text: str) -> None:
    response = client.post("/jobs", content=b'{"export": "echo", "params": {"t": %s}}' % number)
    assert response.status_code == 202, response.text
    assert response.json()["params"]["t"] == text
