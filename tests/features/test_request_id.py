"""X-Request-ID: kept when sane, else generated; echoed on every kind of answer."""

from __future__ import annotations

import re

import httpx
import pytest

from exporter.api.request_id import accept_request_id
from tests.support.servers import LiveServer


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123", True),
        ("x" * 128, True),
        ("with space and ~!@#", True),
        ("x" * 129, False),
        ("line\nbreak", False),
        ("tab\there", False),
        ("caf\u00e9", False),
        ("", False),
        (None, False),
    ],
)
def test_accept_request_id(given: str | None, kept: bool) -> None:
    chosen = accept_request_id(given)
    if kept:
        assert chosen == given
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", chosen)


def test_request_ids_are_echoed_generated_or_replaced(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
        given = "abc-123_DEF.456/~!"
        assert client.get("/healthz", headers={"X-Request-ID": given}).headers[
            "x-request-id"
        ] == given  # fmt: skip
        generated = client.get("/healthz").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        assert client.get("/healthz").headers["x-request-id"] != generated
        # (Control characters other than tab never get this far: uvicorn answers 400 itself.)
        for bad in (b"x" * 129, b"tab\there", "café".encode(), b""):
            replaced = client.get("/exports", headers={b"X-Request-ID": bad}).headers
            assert re.fullmatch(r"[0-9a-f]{32}", replaced["x-request-id"]), bad
        assert client.get("/nowhere", headers={"X-Request-ID": "r-404"}).headers[
            "x-request-id"
        ] == "r-404"  # fmt: skip


def test_aborted_streams_and_problems_carry_the_id(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
        problem = client.get("/exports/numbers?rows=x", headers={"X-Request-ID": "r-422"})
        assert problem.status_code == 422
        assert problem.headers["x-request-id"] == "r-422"
        path = "/exports/fails_at_row?fail_at=3000&fetch_rows=1000&format=csv"
        with (
            pytest.raises(httpx.RemoteProtocolError),
            client.stream("GET", path, headers={"X-Request-ID": "r-aborted"}) as response,
        ):
            assert response.headers["x-request-id"] == "r-aborted"
            b"".join(response.iter_bytes())
