"""Issue 19, High 3: what enters through a request is bounded: a job submission's body
(``EXPORTER_REQUEST_BODY_MAX_BYTES``, 413) and every parameter value, of a stream or a job
(``EXPORTER_PARAM_VALUE_MAX_BYTES``, 422), before anything is stored, logged or echoed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest

from exporter.settings import Settings
from tests.support.servers import LiveServer

DEFAULTS = Settings.from_env({})
VALUE_MAX = DEFAULTS.param_value_max_bytes
BODY_MAX = DEFAULTS.request_body_max_bytes


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        yield http


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, object] = response.json()
    return problem


def test_a_job_body_over_the_limit_is_413_unread(client: httpx.Client) -> None:
    body = orjson.dumps({"export": "echo", "params": {"t": "x" * BODY_MAX}})
    problem = _problem(client.post("/jobs", content=body), 413)
    assert problem["type"] == "urn:exporter:problem:request-too-large"
    assert problem["limit_bytes"] == BODY_MAX


def test_a_chunked_job_body_over_the_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b'{"export": "echo", "params": {"t": "'
        for _ in range(BODY_MAX // 65536 + 2):
            yield b"x" * 65536
        yield b'"}}'

    problem = _problem(client.post("/jobs", content=chunks()), 413)
    assert problem["type"] == "urn:exporter:problem:request-too-large"


def test_a_job_value_over_the_limit_is_422_and_never_stored(client: httpx.Client) -> None:
    before = len(client.get("/jobs").json()["jobs"])
    body = {"export": "echo", "params": {"t": "é" * (VALUE_MAX // 2 + 1)}}  # bytes, not chars
    problem = _problem(client.post("/jobs", json=body), 422)
    assert problem["parameter"] == "t"
    assert f"{VALUE_MAX:,} bytes" in str(problem["reason"])
    assert len(client.get("/jobs").json()["jobs"]) == before


def test_the_limits_are_settings(server_factory: Callable[..., LiveServer]) -> None:
    # Stream values are checked too (a URL is also bounded by uvicorn's 16 KiB request line).
    server = server_factory(
        EXPORTER_PARAM_VALUE_MAX_BYTES="10", EXPORTER_REQUEST_BODY_MAX_BYTES="100"
    )
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        _problem(http.get("/exports/echo", params={"t": "x" * 11}), 422)
        assert http.get("/exports/echo", params={"t": "x" * 10}).status_code == 200
        _problem(http.post("/jobs", json={"export": "echo", "params": {"t": "x" * 100}}), 413)
