"""pandas reading exports straight from their URLs, compared with the API's own rows (NDJSON,
numbers read exactly): a stream as CSV and as NDJSON, and a compressed job file whose URL ends
with its name (pandas infers the gzip from it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.support.jobs import finished, submit, wait_for
from tests.support.servers import LiveServer

QUERY = "rows=2500"


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=60) as client:
        yield client


def api_rows(http: httpx.Client) -> list[dict[str, Any]]:
    """The rows of ``numbers`` as the API gives them (NDJSON, every digit kept)."""
    body = http.get(f"/exports/numbers?{QUERY}&format=ndjson").text
    return [json.loads(line, parse_float=Decimal) for line in body.splitlines()]


def as_api_types(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """pandas' rows with the API's types: n bigint, label text, half numeric (read as a float
    by pandas, compared through its exact decimal text)."""
    return [
        {"n": int(row["n"]), "label": str(row["label"]), "half": Decimal(repr(float(row["half"])))}
        for row in frame.to_dict("records")
    ]


@pytest.mark.parametrize(
    ("fmt", "read"),
    [
        ("csv", pd.read_csv),
        ("ndjson", lambda url: pd.read_json(url, lines=True, dtype=False)),
        ("json", lambda url: pd.read_json(url, dtype=False)),
    ],
)
def test_pandas_reads_a_stream_by_url(
    http: httpx.Client, live_server: LiveServer, fmt: str, read: Callable[[str], pd.DataFrame]
) -> None:
    frame = read(f"{live_server.base_url}/exports/numbers?{QUERY}&format={fmt}")
    assert list(frame.columns) == ["n", "label", "half"]
    expected = api_rows(http)
    assert len(expected) == 2500
    assert as_api_types(frame) == expected


def test_pandas_reads_a_compressed_job_file_by_its_url(
    http: httpx.Client, live_server: LiveServer
) -> None:
    job = submit(http, export="numbers", params={"rows": 2500}, format="csv", compression="gzip")
    done = wait_for(http, job["id"], finished)
    assert done["state"] == "succeeded"
    url = live_server.base_url + done["file"]["url"]
    assert url.endswith(".csv.gz")
    assert as_api_types(pd.read_csv(url)) == api_rows(http)  # no compression= needed
