"""Logs, request ids and metrics, seen from outside: a real uvicorn whose stderr is the log.

One server for the module, logging JSON, connected with a password in DATABASE_URL (the local
PostgreSQL trusts, so any password connects). Metrics are compared before and after each
request, so the tests do not depend on each other's counts.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.database_urls import with_password
from tests.support.metrics_text import metric, wait_for_metric
from tests.support.servers import LiveServer, start_server

PASSWORD = f"pw-{uuid.uuid4().hex}"
TOKEN = f"token-{uuid.uuid4().hex}"
BAD_PIN = f"pin-{uuid.uuid4().hex}"
BAD_CODE = f"code-{uuid.uuid4().hex}"
TYPO = f"typo-{uuid.uuid4().hex}"
BEARER = f"bearer-{uuid.uuid4().hex}"
API_KEY = f"key-{uuid.uuid4().hex}"
SECRETS = (PASSWORD, TOKEN, BAD_PIN, BAD_CODE, TYPO, BEARER, API_KEY)


@pytest.fixture(scope="module")
def server(
    database_url: str, catalog_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    started = start_server(
        with_password(database_url, PASSWORD), catalog_dir, tmp_path_factory.mktemp("observed"),
        EXPORTER_LOG_FORMAT="json", EXPORTER_POOL_MAX_SIZE="3",
        # More exports than connections may run, so a 4th waits on the pool (not the cap).
        EXPORTER_MAX_CONCURRENT_EXPORTS="10",
    )  # fmt: skip
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        yield http


def log_records(server: LiveServer) -> list[dict[str, Any]]:
    """Every line of the server's output, each parsed as one JSON object."""
    return [json.loads(line) for line in server.log().splitlines()]


def export_line(server: LiveServer, request_id: str, within_s: float = 5.0) -> dict[str, Any]:
    """The export's own log line (written as the export ends, just after the last byte)."""
    deadline = time.monotonic() + within_s
    while True:
        lines = [
            r for r in log_records(server)
            if r["logger"] == "exporter.stream" and r.get("request_id") == request_id
        ]  # fmt: skip
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(lines) == 1, lines
    return lines[0]


EXPORT_FIELDS = {"request_id", "key_id", "export", "format", "params", "rows", "bytes",
                 "duration_s", "ttfb_s", "outcome", "cause", "status", "error"}  # fmt: skip


def test_a_completed_export_logs_one_json_line_with_every_field(
    server: LiveServer, client: httpx.Client
) -> None:
    response = client.get(
        "/exports/numbers?rows=1234&format=csv", headers={"X-Request-ID": "obs-completed"}
    )
    assert response.status_code == 200
    line = export_line(server, "obs-completed")
    assert line.keys() >= EXPORT_FIELDS
    assert line["level"] == "info"
    assert line["key_id"] is None  # no authentication yet: present, and null
    assert (line["export"], line["format"], line["outcome"], line["cause"]) == (
        "numbers", "csv", "completed", None,
    )  # fmt: skip
    assert line["params"] == {"rows": "1234"}
    assert (line["status"], line["rows"], line["bytes"]) == (200, 1234, len(response.content))
    assert 0 < line["ttfb_s"] <= line["duration_s"]
    access = [
        r for r in log_records(server)
        if r["logger"] == "uvicorn.access" and r.get("request_id") == "obs-completed"
    ]  # fmt: skip
    assert [(a["path"], a["status"]) for a in access] == [("/exports/numbers", 200)]


def test_a_failure_mid_stream_logs_an_error_line_with_its_cause(
    server: LiveServer, client: httpx.Client
) -> None:
    path = "/exports/fails_at_row?rows=100000&fail_at=5000&fetch_rows=1000&format=ndjson"
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("GET", path, headers={"X-Request-ID": "obs-failed"}) as response,
    ):
        assert response.headers["x-request-id"] == "obs-failed"  # on the aborted stream too
        b"".join(response.iter_bytes())
    line = export_line(server, "obs-failed")
    assert line.keys() >= EXPORT_FIELDS
    assert line["level"] == "error"
    assert (line["outcome"], line["cause"], line["status"]) == ("failed", "query_error", 200)
    assert "division by zero" in line["error"]
    assert 0 < line["rows"] < 5000 and line["bytes"] > 0
    assert line["params"] == {"rows": "100000", "fail_at": "5000"}


@pytest.mark.parametrize(
    ("path", "status", "cause", "export", "params"),
    [
        ("/exports/numbers?rows=many", 422, "invalid_parameter", "numbers", {"rows": "many"}),
        ("/exports/numbers?format=xml", 406, "unsupported_format", "numbers", {}),
        ("/exports/no_such_export?x=1", 404, "unknown_export", "no_such_export", None),
    ],
)
def test_a_rejected_export_logs_why(
    server: LiveServer,
    client: httpx.Client,
    path: str,
    status: int,
    cause: str,
    export: str,
    params: dict[str, str] | None,
) -> None:
    request_id = f"obs-rejected-{status}"
    response = client.get(path, headers={"X-Request-ID": request_id})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == request_id
    line = export_line(server, request_id)
    assert line.keys() >= EXPORT_FIELDS
    assert (line["outcome"], line["cause"], line["status"]) == ("rejected", cause, status)
    assert (line["export"], line["params"], line["rows"], line["ttfb_s"]) == (
        export,
        params,
        0,
        None,
    )
    assert line["error"]


def test_no_secret_reaches_the_log(server: LiveServer, client: httpx.Client) -> None:
    secret_headers = {"Authorization": f"Bearer {BEARER}", "X-API-Key": API_KEY}
    done = client.get(f"/exports/sensitive_echo?token={TOKEN}&label=shown", headers=secret_headers)
    assert done.status_code == 200
    assert done.json()["token_length"] == len(TOKEN)
    bad_pin = client.get(f"/exports/sensitive_echo?token={TOKEN}&pin={BAD_PIN}")
    assert bad_pin.status_code == 422
    assert BAD_PIN not in bad_pin.text  # an invalid secret is not quoted back either
    typo = client.get(f"/exports/sensitive_echo?token={TOKEN}&tokn={TYPO}")
    assert typo.status_code == 422
    # PostgreSQL quotes the value it cannot cast; the log line must not.
    bad_code = client.get(f"/exports/sensitive_echo?token={TOKEN}&code={BAD_CODE}")
    assert bad_code.status_code in (200, 422)
    client.get("/exports/sensitive_echo?format=csv", headers=secret_headers)  # token missing
    assert export_line(server, done.headers["x-request-id"])["params"] == {
        "token": "[redacted]", "pin": "[redacted]", "code": "[redacted]", "label": "shown",
    }  # fmt: skip
    export_line(server, bad_code.headers["x-request-id"])
    lines = [r for r in log_records(server) if r["logger"] == "exporter.stream"]
    echoes = [r for r in lines if r["export"] == "sensitive_echo"]
    assert len(echoes) == 5
    assert {r["params"]["token"] for r in echoes if "token" in r["params"]} == {"[redacted]"}
    log = server.log()
    assert "postgres:***@" in log  # the ready line names the database, password redacted
    leaked = [secret for secret in SECRETS if secret in log]
    assert leaked == []


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "arrow", "parquet"])
def test_counters_move_by_what_the_export_sent(server: LiveServer, fmt: str) -> None:
    labels = {"export": "numbers", "format": fmt}
    before = {
        name: metric(server, name, **labels)
        for name in ("exporter_export_rows_total", "exporter_export_bytes_total",
                     "exporter_export_duration_seconds_count",
                     "exporter_export_time_to_first_byte_seconds_count")
    }  # fmt: skip
    completed = metric(server, "exporter_exports_total", outcome="completed", **labels)
    response = httpx.get(f"{server.base_url}/exports/numbers?rows=2345&format={fmt}", timeout=60)
    assert response.status_code == 200
    assert (
        wait_for_metric(
            server,
            "exporter_exports_total",
            completed + 1,
            within_s=5.0,  # given, so that mypy knows **labels cannot fill it
            outcome="completed",
            cause="",
            **labels,
        )
        == completed + 1
    )
    after = {name: metric(server, name, **labels) for name in before}
    assert after["exporter_export_rows_total"] - before["exporter_export_rows_total"] == 2345
    assert after["exporter_export_bytes_total"] - before["exporter_export_bytes_total"] == len(
        response.content
    )
    assert after["exporter_export_duration_seconds_count"] == (
        before["exporter_export_duration_seconds_count"] + 1
    )
    assert after["exporter_export_time_to_first_byte_seconds_count"] == (
        before["exporter_export_time_to_first_byte_seconds_count"] + 1
    )


def test_in_flight_is_one_during_a_slow_export_and_zero_after(server: LiveServer) -> None:
    labels = {"export": "slow_numbers", "format": "ndjson"}
    assert metric(server, "exporter_exports_in_flight", **labels) == 0
    path = "/exports/slow_numbers?rows=150&delay_s=0.01&fetch_rows=10"
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        with client.stream("GET", path) as response:
            body = response.iter_bytes()
            next(body)
            assert metric(server, "exporter_exports_in_flight", **labels) == 1
            assert metric(server, "exporter_db_pool_connections_in_use") >= 1
            assert metric(server, "exporter_db_pool_connections_max") == 3
            rest = b"".join(body)
        assert rest
    assert wait_for_metric(server, "exporter_exports_in_flight", 0, within_s=5.0, **labels) == 0
    assert wait_for_metric(server, "exporter_db_pool_connections_in_use", 0) == 0
    assert metric(server, "exporter_db_pool_waiting_requests") == 0


def test_disconnects_failures_and_rejections_are_counted(server: LiveServer) -> None:
    def outcome(export: str, fmt: str, name: str, cause: str = "") -> float:
        return metric(server, "exporter_exports_total", export=export, format=fmt,
                      outcome=name, cause=cause)  # fmt: skip

    gone = outcome("slow_numbers", "csv", "client_disconnected")
    failed = outcome("fails_at_row", "csv", "failed", "query_error")
    unknown = outcome("", "", "rejected", "unknown_export")
    invalid = outcome("numbers", "", "rejected", "invalid_parameter")

    url = urlsplit(server.base_url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(b"GET /exports/slow_numbers?rows=1000&delay_s=0.01&fetch_rows=10&format=csv"
                     b" HTTP/1.1\r\nHost: test\r\n\r\n")  # fmt: skip
        sock.recv(65536)  # the export is streaming; now leave
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.base_url + "/exports/fails_at_row?fail_at=3000&format=csv", timeout=30)
    assert httpx.get(server.base_url + "/exports/nope", timeout=30).status_code == 404
    assert httpx.get(server.base_url + "/exports/numbers?bogus=1", timeout=30).status_code == 422

    deadline = time.monotonic() + 5
    while outcome("slow_numbers", "csv", "client_disconnected") == gone:
        assert time.monotonic() < deadline, "the disconnect was not counted"
        time.sleep(0.05)
    assert outcome("slow_numbers", "csv", "client_disconnected") == gone + 1
    assert outcome("fails_at_row", "csv", "failed", "query_error") == failed + 1
    assert outcome("", "", "rejected", "unknown_export") == unknown + 1
    assert outcome("numbers", "", "rejected", "invalid_parameter") == invalid + 1
    assert wait_for_metric(server, "exporter_exports_in_flight", 0) == 0


def test_exports_waiting_for_a_connection_are_visible(server: LiveServer) -> None:
    refused = metric(server, "exporter_exports_total", export="numbers", format="ndjson",
                     outcome="rejected", cause="database_unavailable")  # fmt: skip
    statuses: list[int] = []
    bodies: list[Iterator[bytes]] = []  # kept: a dropped iterator closes its response
    with ExitStack() as holding, httpx.Client(base_url=server.base_url, timeout=30) as client:
        for _ in range(3):  # the pool's every connection
            response = holding.enter_context(
                client.stream("GET", "/exports/slow_numbers?rows=500&delay_s=0.01&fetch_rows=10")
            )
            bodies.append(response.iter_bytes())
            next(bodies[-1])
        waiter = threading.Thread(
            target=lambda: statuses.append(
                httpx.get(server.base_url + "/exports/numbers", timeout=30).status_code
            )
        )
        waiter.start()
        assert wait_for_metric(server, "exporter_db_pool_waiting_requests", 1) == 1
        assert metric(server, "exporter_db_pool_connections_in_use") == 3
        assert metric(server, "exporter_exports_in_flight", export="numbers", format="ndjson") == 1
        waiter.join(10)
    assert statuses == [503]  # after EXPORTER_POOL_ACQUIRE_TIMEOUT (2 s)
    assert metric(server, "exporter_db_pool_waiting_requests") == 0
    assert metric(server, "exporter_exports_total", export="numbers", format="ndjson",
                  outcome="rejected", cause="database_unavailable") == refused + 1  # fmt: skip


def test_metrics_are_prometheus_text_with_units_and_help(server: LiveServer) -> None:
    response = httpx.get(server.base_url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    expected = {
        "exporter_exports_in_flight": "gauge",
        "exporter_export_rows": "counter",
        "exporter_export_bytes": "counter",
        "exporter_exports": "counter",
        "exporter_export_duration_seconds": "histogram",
        "exporter_export_time_to_first_byte_seconds": "histogram",
        "exporter_db_pool_connections": "gauge",
        "exporter_db_pool_connections_in_use": "gauge",
        "exporter_db_pool_connections_idle": "gauge",
        "exporter_db_pool_connections_max": "gauge",
        "exporter_db_pool_waiting_requests": "gauge",
    }
    assert {name: families[name].type for name in expected} == expected
    assert all(families[name].documentation for name in expected)
    # Declared at start-up: every export and format has its series before its first export.
    declared = {(s.labels["export"], s.labels["format"])
                for s in families["exporter_export_rows"].samples}  # fmt: skip
    assert ("type_zoo", "parquet") in declared
    assert families["process_resident_memory_bytes"].samples[0].value > 0
