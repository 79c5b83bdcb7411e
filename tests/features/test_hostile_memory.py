"""Issue 19, finding 1 (and 9): a client cannot make an export hold memory or burn CPU per row
with tiny round trips. ``fetch_rows`` has a floor (``EXPORTER_FETCH_ROWS_MIN``) for streams and
jobs alike; the Parquet encoder's own bound in bytes is tested in tests/encoders/test_parquet.py
and measured by ``benchmarks/fetch_rows_memory.py`` (docs/operations.md has the numbers)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from exporter.settings import Settings
from tests.support.readers import read_parquet
from tests.support.servers import LiveServer

DEFAULT_FLOOR = Settings.from_env({}).fetch_rows_min


@pytest.fixture
def floored(server_factory: Callable[..., LiveServer]) -> LiveServer:
    # The test fixtures lower the floor to 1; this server has the shipped default.
    return server_factory(EXPORTER_FETCH_ROWS_MIN=str(DEFAULT_FLOOR))


def test_the_default_floor_is_about_a_hundred_rows() -> None:
    assert 50 <= DEFAULT_FLOOR <= 1000


def test_streams_and_jobs_below_the_floor_are_refused(floored: LiveServer) -> None:
    with httpx.Client(base_url=floored.base_url, timeout=60) as client:
        for fmt in ("parquet", "csv"):
            response = client.get(f"/exports/orders?format={fmt}&fetch_rows=1")
            assert response.status_code == 422
            problem = response.json()
            assert problem["parameter"] == "fetch_rows"
            assert f"[{DEFAULT_FLOOR}, " in problem["reason"]
        body = {"export": "orders", "format": "parquet", "params": {"fetch_rows": 1}}
        response = client.post("/jobs", json=body)
        assert response.status_code == 422
        assert response.json()["parameter"] == "fetch_rows"
        at_floor = client.get(f"/exports/orders?format=parquet&fetch_rows={DEFAULT_FLOOR}")
        assert at_floor.status_code == 200
        assert read_parquet(at_floor.content).num_rows > DEFAULT_FLOOR
