"""The HTTP API against a real uvicorn process and the real PostgreSQL."""

from __future__ import annotations

import io
import json
import re
import subprocess
import time

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support.servers import LiveServer
from tests.support.sessions import wait_until_idle

ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"
FILENAME = re.compile(r'attachment; filename="orders-\d{8}T\d{6}\.\d{6}Z\.(\w+)"')


def test_catalog_lists_exports_with_parameters_and_columns(http: httpx.Client) -> None:
    response = http.get("/exports")
    assert response.status_code == 200
    exports = {e["name"]: e for e in response.json()["exports"]}
    orders = exports["orders"]
    assert orders["description"]
    since = {"name": "since", "type": "date", "default": "2024-01-01", "required": False,
             "sensitive": False}  # fmt: skip
    assert since in orders["parameters"]
    secret = exports["sensitive_echo"]["parameters"][1]  # pin
    assert secret == {"name": "pin", "type": "integer", "default": "[redacted]",
                      "required": False, "sensitive": True}  # fmt: skip
    assert {"name": "amount", "type": "numeric(12,2)"} in orders["columns"]


@pytest.mark.parametrize(
    ("query", "accept", "media_type", "extension"),
    [
        ("", None, "application/x-ndjson", "ndjson"),
        ("?format=csv", None, "text/csv", "csv"),
        ("?format=arrow", None, "application/vnd.apache.arrow.stream", "arrows"),
        ("?format=parquet", None, "application/vnd.apache.parquet", "parquet"),
        ("?format=json", None, "application/json", "json"),
        ("", "application/json", "application/json", "json"),
        ("", "text/csv", "text/csv", "csv"),
        ("", ARROW, ARROW, "arrows"),
        ("", "application/vnd.apache.parquet;q=0.9, text/csv;q=0.5", PARQUET, "parquet"),
        ("", "text/html,application/xhtml+xml,*/*;q=0.8", "application/x-ndjson", "ndjson"),
        ("?format=csv", "application/vnd.apache.parquet", "text/csv", "csv"),
    ],
)  # fmt: skip
def test_format_by_parameter_or_accept(
    http: httpx.Client, query: str, accept: str | None, media_type: str, extension: str
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = http.get("/exports/orders" + query, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    match = FILENAME.fullmatch(response.headers["content-disposition"])
    assert match and match.group(1) == extension
    assert response.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.headers


@pytest.mark.parametrize(
    ("url", "headers", "status", "detail"),
    [
        ("/exports/nope", {}, 404, "unknown export 'nope'"),
        ("/exports/orders?format=ods", {}, 406, "unsupported format 'ods'"),
        ("/exports/orders", {"Accept": "image/png"}, 406, "supported: application/x-ndjson"),
        ("/exports/orders?since=yesterday", {}, 422, "parameter 'since': not a date"),
        ("/exports/orders?since=2024-01-01&since=2024-02-01", {}, 422, "given more than once"),
        ("/exports/orders?colour=red", {}, 422, "parameter 'colour': unknown parameter"),
        ("/exports/orders?fetch_rows=0", {}, 422, "parameter 'fetch_rows'"),
        ("/exports/orders?chunk_bytes=999999999999", {}, 422, "parameter 'chunk_bytes'"),
        ("/exports/echo?d=infinity&ts=99999-01-01", {}, 422, "parameter 'ts'"),
        ("/exports/orders?format=csv&csv_delimiter=%3A", {}, 422, "parameter 'csv_delimiter'"),
        ("/exports/orders?format=csv&csv_bom=yes", {}, 422, "parameter 'csv_bom'"),
        ("/exports/orders?format=csv&csv_header=0", {}, 422, "parameter 'csv_header'"),
        ("/exports/orders?csv_bom=true", {}, 422, "parameter 'csv_bom': applies to format=csv"),
        ("/exports/orders?csv_header=false", {"Accept": PARQUET}, 422, "not to parquet"),
    ],
)
def test_bad_requests_are_problem_json(
    http: httpx.Client, url: str, headers: dict[str, str], status: int, detail: str
) -> None:
    response = http.get(url, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["type"].startswith("urn:exporter:problem:")
    assert detail in body["detail"]


@pytest.mark.parametrize(
    ("query", "headers"),
    [("?format=csv&csv_bom=true&csv_delimiter=%3B", {}),
     ("?csv_bom=true&csv_delimiter=%3B", {"Accept": "text/csv"})],
)  # fmt: skip
def test_csv_for_excel_has_a_bom_and_semicolons(
    http: httpx.Client, query: str, headers: dict[str, str]
) -> None:
    response = http.get("/exports/orders" + query, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    assert response.content.startswith(b"\xef\xbb\xbfid;created_at;status;")
    plain = http.get("/exports/orders?format=csv").content
    assert plain.startswith(b"id,created_at,status,")
    assert response.content.count(b"\n") == plain.count(b"\n")


def test_csv_without_a_header_says_so(http: httpx.Client) -> None:
    response = http.get("/exports/orders?format=csv&csv_header=false&csv_delimiter=tab")
    assert response.headers["content-type"] == "text/csv; charset=utf-8; header=absent"
    first = http.get("/exports/orders?format=csv").content.split(b"\n")[1]
    assert response.content.startswith(b"\t".join(first.split(b",")[:4]) + b"\t")  # no header


def test_postgres_rejecting_a_value_at_bind_is_422(http: httpx.Client) -> None:
    # Passes our parser (a valid timestamp shape) but is out of PostgreSQL's range.
    response = http.get("/exports/echo", params={"d": "5874898-01-01"})
    assert response.status_code in (422,)
    assert response.headers["content-type"] == "application/problem+json"


def test_empty_result_csv_is_just_the_header(http: httpx.Client) -> None:
    response = http.get("/exports/orders?format=csv&since=2999-01-01")
    assert response.status_code == 200
    assert response.content.count(b"\n") == 1
    assert response.content.startswith(b"id,")


def test_large_result_streams_every_row(http: httpx.Client) -> None:
    rows = 2_000_000
    count = 0
    received = 0
    with http.stream("GET", f"/exports/numbers?rows={rows}&format=csv") as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            count += chunk.count(b"\n")
            received += len(chunk)
    assert count == rows + 1  # header line
    assert received > 50_000_000


def test_chunks_are_bounded_by_chunk_bytes(live_server: LiveServer) -> None:
    with (
        httpx.Client(base_url=live_server.base_url) as client,
        client.stream(
            "GET",
            "/exports/numbers?rows=50000&format=ndjson&chunk_bytes=4096&fetch_rows=1000",
            headers={"Accept-Encoding": "identity"},  # the chunks as encoded, not compressed
        ) as response,
    ):
        sizes = [len(chunk) for chunk in response.iter_raw()]
    assert sum(sizes) > 4096 * 10
    assert max(sizes) <= 4096 * 2  # a raw read may join two chunks, never exceed


def test_first_bytes_arrive_before_a_slow_query_finishes(http: httpx.Client) -> None:
    # 200 rows at 10 ms each: about 2 s in all; the first batch of 20 rows after ~0.2 s.
    started = time.monotonic()
    with http.stream(
        "GET", "/exports/slow_numbers?rows=200&delay_s=0.01&fetch_rows=20"
    ) as response:
        assert response.status_code == 200
        stream = response.iter_bytes()
        first = next(stream)
        first_at = time.monotonic() - started
        rest = b"".join(stream)
        total = time.monotonic() - started
    assert first.count(b"\n") >= 1
    assert (first + rest).count(b"\n") == 200
    assert first_at < total / 2, (first_at, total)


@pytest.mark.parametrize(
    ("fmt", "path"),
    [(fmt, "cursor") for fmt in ("csv", "ndjson", "json", "arrow", "parquet")]
    + [(fmt, "copy") for fmt in ("csv", "json", "arrow", "parquet")],
)
def test_failure_after_first_byte_aborts_the_transfer(
    http: httpx.Client, fmt: str, path: str
) -> None:
    received = bytearray()
    fetch_rows = "&fetch_rows=1000" if path == "cursor" else ""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream(
            "GET", f"/exports/fails_at_row?rows=100000&fail_at=50000&format={fmt}{fetch_rows}"
        ) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
    assert b"division by zero" not in received
    if fmt == "arrow":
        assert not received.endswith(b"\xff\xff\xff\xff\x00\x00\x00\x00")  # no end-of-stream
    if fmt == "parquet":
        with pytest.raises(pa.ArrowInvalid):  # no footer: not a Parquet file
            pq.read_table(io.BytesIO(bytes(received)))
    if fmt == "json":
        assert received.startswith(b"[{")
        with pytest.raises(json.JSONDecodeError):  # the array is never closed
            json.loads(received)


def test_curl_reports_a_truncated_transfer(live_server: LiveServer) -> None:
    result = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null",
         f"{live_server.base_url}/exports/fails_at_row?fail_at=50000&fetch_rows=1000&format=csv"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 18, result.stderr  # CURLE_PARTIAL_FILE
    assert "aborted after" in live_server.log()


def test_arrow_stream_reads_back(http: httpx.Client) -> None:
    response = http.get("/exports/numbers?rows=12345&format=arrow&fetch_rows=1000")
    reader = pa.ipc.open_stream(io.BytesIO(response.content))
    batches = list(reader)
    assert len(batches) == 13  # one record batch per fetched batch
    assert sum(b.num_rows for b in batches) == 12345


def test_first_round_trip_is_small_then_fetch_rows(http: httpx.Client) -> None:
    response = http.get("/exports/numbers?rows=12345&format=arrow&fetch_rows=5000")
    sizes = [batch.num_rows for batch in pa.ipc.open_stream(io.BytesIO(response.content))]
    assert sizes == [1000, 5000, 5000, 1345]  # EXPORTER_FIRST_FETCH_ROWS, then fetch_rows


def test_non_ascii_export_name_gets_an_rfc5987_filename(http: httpx.Client) -> None:
    response = http.get("/exports/donn%C3%A9es?format=csv")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(
        r"attachment; filename=\"donn_es-\d{8}T\d{6}\.\d{6}Z\.csv\"; "
        r"filename\*=UTF-8''donn%C3%A9es-\d{8}T\d{6}\.\d{6}Z\.csv",
        disposition,
    ), disposition


def test_openapi_documents_each_export(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    operation = spec["paths"]["/exports/orders"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"since", "format", "fetch_rows", "chunk_bytes"} <= names
    assert http.get("/docs").status_code == 200


def test_connections_are_returned_after_every_kind_of_ending(
    http: httpx.Client, database_url: str
) -> None:
    # Completed, failed mid-stream and abandoned exports: afterwards nothing is left running.
    http.get("/exports/numbers?rows=1000")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/exports/fails_at_row?fail_at=5000&fetch_rows=1000")
    with http.stream("GET", "/exports/slow_numbers?rows=1000&delay_s=0.01&fetch_rows=10") as r:
        next(r.iter_bytes())
    wait_until_idle(database_url, within_s=2.0)
