"""The job API on a real uvicorn process: life cycle, files, validation, downloads, progress."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import pyarrow.parquet as pq
import pytest
import websockets
import zstandard

from tests.support.jobs import finished, submit, wait_for
from tests.support.metrics_text import metric, wait_for_metric
from tests.support.servers import LiveServer
from tests.support.sessions import busy_sessions, wait_until_idle

#: A job that runs for minutes, producing a row every 10 ms. Small fetches: progress shows at
#: once (on the COPY path, PostgreSQL sends output in 8 KiB pieces: ~250 of these rows).
SLOW = {
    "export": "slow_numbers",
    "params": {"rows": 100_000, "delay_s": 0.01, "fetch_rows": 10},
    "format": "csv",
}


@pytest.fixture
def jobs_server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory(EXPORTER_JOBS_POLL="0.2s", EXPORTER_JOB_HEARTBEAT="0.2s")


@pytest.fixture
def client(jobs_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=jobs_server.base_url, timeout=30) as opened:
        yield opened


def _jobs_dir(server: LiveServer) -> Path:
    port = server.base_url.rsplit(":", 1)[1]
    return server.log_path.parent / f"jobs-{port}"


def _decompress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.decompress(data)
    if compression == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if compression == "br":
        decompressed: bytes = brotli.decompress(data)
        return decompressed
    return data


#: A compressed job file is served as what it is, a compressed file.
MEDIA_TYPES = {"gzip": "application/gzip", "zstd": "application/zstd", "br": "application/x-brotli"}


def fmt_media_type(fmt: str) -> str:
    return {"csv": "text/csv; charset=utf-8; header=present",
            "ndjson": "application/x-ndjson; charset=utf-8"}.get(fmt, "")  # fmt: skip


#: CSV for Excel in a comma-decimal locale: a byte order mark, semicolons (no header: for once).
EXCEL_CSV = {"csv_bom": True, "csv_delimiter": ";", "csv_header": False}


@pytest.mark.parametrize(
    ("fmt", "compression", "options"),
    [("csv", "none", {}), ("csv", "gzip", {}), ("ndjson", "zstd", {}), ("ndjson", "none", {}),
     ("csv", "gzip", EXCEL_CSV), ("json", "br", {})],
)  # fmt: skip
def test_a_job_file_holds_exactly_what_the_stream_sends(
    client: httpx.Client,
    jobs_server: LiveServer,
    fmt: str,
    compression: str,
    options: dict[str, Any],
) -> None:
    params = {"rows": 20_000, **options}
    job = submit(client, export="numbers", params=params, format=fmt, compression=compression)
    assert job["state"] == "queued" and job["file"] is None
    done = wait_for(client, job["id"], finished)
    assert done["state"] == "succeeded", done
    assert done["rows"] == 20_000 and done["attempts"] == 1
    download = client.get(f"/jobs/{job['id']}/download")
    assert download.status_code == 200
    body = download.content
    assert done["file"]["bytes"] == len(body) == int(download.headers["content-length"])
    assert done["file"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert download.headers["etag"] == f'"{done["file"]["sha256"]}"'
    suffix = {"none": "", "gzip": ".gz", "zstd": ".zst", "br": ".br"}[compression]
    assert done["file"]["name"].endswith(f".{fmt}{suffix}")
    assert done["file"]["name"] in download.headers["content-disposition"]
    assert download.headers["content-type"] == MEDIA_TYPES.get(compression, fmt_media_type(fmt))
    streamed = client.get("/exports/numbers", params={**params, "format": fmt}).content
    assert _decompress(body, compression) == streamed
    assert streamed.startswith(b"\xef\xbb\xbf1;") == bool(options)  # the options held
    # Published atomically: only the final file is in the directory.
    assert [p.name for p in _jobs_dir(jobs_server).iterdir()] == [f"{job['id']}-1.{fmt}{suffix}"]


def test_a_parquet_job_reads_back(client: httpx.Client) -> None:
    job = submit(client, export="orders", format="parquet")
    done = wait_for(client, job["id"], finished)
    assert done["state"] == "succeeded"
    table = pq.read_table(io.BytesIO(client.get(f"/jobs/{job['id']}/download").content))
    assert table.num_rows == done["rows"] > 0


@pytest.mark.parametrize(
    ("body", "status", "problem", "names"),
    [
        ({"export": "nope"}, 404, "unknown-export", "nope"),
        ({"export": "numbers", "params": {"rows": "many"}}, 422, "invalid-parameter", "rows"),
        ({"export": "numbers", "params": {"bogus": 1}}, 422, "invalid-parameter", "bogus"),
        ({"export": "numbers", "params": {"rows": [1]}}, 422, "invalid-parameter", "rows"),
        ({"export": "numbers", "format": "ods"}, 406, "unsupported-format", "ods"),
        (
            {"export": "numbers", "params": {"csv_delimiter": ":"}, "format": "csv"},
            422,
            "invalid-parameter",
            "csv_delimiter",
        ),
        ({"export": "numbers", "params": {"csv_bom": True}}, 422, "invalid-parameter", "csv_bom"),
        ({"export": "numbers", "compression": "rar"}, 422, "invalid-parameter", "compression"),
        ({"export": "numbers", "colour": "red"}, 422, "invalid-parameter", "colour"),
        ({"params": {}}, 422, "invalid-parameter", "export"),
        (["numbers"], 422, "invalid-parameter", "body"),
    ],
)
def test_bad_submissions_get_the_streaming_endpoints_errors(
    client: httpx.Client, body: Any, status: int, problem: str, names: str
) -> None:
    response = client.post("/jobs", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"urn:exporter:problem:{problem}"
    assert names in response.json()["detail"]
    assert client.get("/jobs").json()["jobs"] == []  # nothing was queued


def test_malformed_json_is_422(client: httpx.Client) -> None:
    response = client.post("/jobs", content=b"{not json")
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]


def test_unknown_and_malformed_job_ids_are_404(client: httpx.Client) -> None:
    for job_id in ("6d1f0c1e-0000-4000-8000-000000000000", "not-a-uuid"):
        for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/download")):
            response = client.request(method, f"/jobs/{job_id}{path}")
            assert response.status_code == 404
            assert response.json()["type"] == "urn:exporter:problem:unknown-job"


def test_range_requests_resume_a_download(client: httpx.Client, tmp_path: Path) -> None:
    job = submit(client, export="numbers", params={"rows": 50_000}, format="csv")
    done = wait_for(client, job["id"], finished)
    url = f"/jobs/{job['id']}/download"
    whole = client.get(url).content
    size = len(whole)
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert part.content == whole[100:200]
    tail = client.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    unsatisfiable = client.get(url, headers={"Range": f"bytes={size + 5}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"
    # If-Range with a stale validator: the whole file, not a range of something else.
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.content == whole
    head = client.head(url)
    assert head.status_code == 200 and head.headers["accept-ranges"] == "bytes"
    assert int(head.headers["content-length"]) == size

    # curl -C - picks up where a broken download stopped.
    target = tmp_path / "resumed.csv"
    target.write_bytes(whole[: size // 3])
    base = str(client.base_url).rstrip("/")
    result = subprocess.run(
        ["curl", "-sS", "-f", "-C", "-", "-o", str(target), base + url],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(target.read_bytes()).hexdigest() == done["file"]["sha256"]


def test_the_file_url_ends_with_its_name(client: httpx.Client) -> None:
    job = submit(client, export="numbers", params={"rows": 3000}, format="csv", compression="gzip")
    done = wait_for(client, job["id"], finished)
    file = done["file"]
    assert file["name"].endswith(".csv.gz")
    assert file["url"] == f"/jobs/{job['id']}/download/{file['name']}"
    plain = client.get(file["download"])
    named = client.get(file["url"])
    assert named.status_code == 200 and named.content == plain.content
    same = ("content-type", "content-length", "etag", "content-disposition", "accept-ranges")
    assert [named.headers[h] for h in same] == [plain.headers[h] for h in same]
    assert gzip.decompress(named.content).startswith(b"n,label,half\n")
    ranged = client.get(file["url"], headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == plain.content[10:20]
    head = client.head(file["url"])
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == plain.headers["content-length"]
    etag = plain.headers["etag"]
    for url in (file["url"], file["download"]):
        unchanged = client.get(url, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == etag
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    wrong = client.get(f"/jobs/{job['id']}/download/numbers.parquet")
    assert wrong.status_code == 404
    assert wrong.json()["type"] == "urn:exporter:problem:unknown-job-file"
    unknown = client.get(f"/jobs/6d1f0c1e-0000-4000-8000-000000000000/download/{file['name']}")
    assert unknown.json()["type"] == "urn:exporter:problem:unknown-job"


def test_downloading_an_unfinished_job_is_409(client: httpx.Client) -> None:
    job = submit(client, **SLOW)
    response = client.get(f"/jobs/{job['id']}/download")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:exporter:problem:job-file-pending"
    client.delete(f"/jobs/{job['id']}")
    assert wait_for(client, job["id"], finished)["state"] == "cancelled"


def test_cancelling_a_running_job_stops_the_query(
    client: httpx.Client, jobs_server: LiveServer, database_url: str
) -> None:
    job = submit(client, **SLOW)
    wait_for(client, job["id"], lambda j: j["state"] == "running" and j["rows"] > 0)
    assert busy_sessions(database_url)  # the export is on the database
    response = client.delete(f"/jobs/{job['id']}")
    assert response.status_code == 202 and response.json()["cancel_requested"]
    started = time.monotonic()
    done = wait_for(client, job["id"], finished, within_s=5)
    assert done["state"] == "cancelled" and done["file"] is None
    assert time.monotonic() - started < 2  # heartbeat 0.2 s: the worker notices quickly
    wait_until_idle(database_url, within_s=1)
    assert list(_jobs_dir(jobs_server).iterdir()) == []  # the partial file is gone
    assert client.get(f"/jobs/{job['id']}/download").status_code == 409


def test_cancelling_a_queued_job(server_factory: Callable[..., LiveServer]) -> None:
    server = server_factory(EXPORTER_JOBS_CONCURRENCY="1", EXPORTER_JOB_HEARTBEAT="0.2s")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        running = submit(client, **SLOW)
        queued = submit(client, export="numbers", format="csv")
        wait_for(client, running["id"], lambda j: j["state"] == "running")
        assert client.get(f"/jobs/{queued['id']}").json()["state"] == "queued"  # one slot
        response = client.delete(f"/jobs/{queued['id']}")
        assert response.status_code == 200 and response.json()["state"] == "cancelled"
        client.delete(f"/jobs/{running['id']}")
        wait_for(client, running["id"], finished)
        time.sleep(0.5)  # the freed slot must not pick up the cancelled job
        assert client.get(f"/jobs/{queued['id']}").json()["state"] == "cancelled"


def test_deleting_a_finished_job_removes_its_file(
    client: httpx.Client, jobs_server: LiveServer
) -> None:
    job = submit(client, export="numbers", format="csv")
    wait_for(client, job["id"], finished)
    assert len(list(_jobs_dir(jobs_server).iterdir())) == 1
    response = client.delete(f"/jobs/{job['id']}")
    assert response.status_code == 200 and response.json()["file"]["status"] == "deleted"
    assert list(_jobs_dir(jobs_server).iterdir()) == []
    gone = client.get(f"/jobs/{job['id']}/download")
    assert gone.status_code == 410
    assert gone.json()["type"] == "urn:exporter:problem:job-file-gone"


def test_files_expire_after_the_retention_period(server_factory: Callable[..., LiveServer]) -> None:
    server = server_factory(EXPORTER_JOB_FILE_TTL="1s", EXPORTER_JOBS_POLL="0.1s")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        job = submit(client, export="numbers", format="csv")
        wait_for(client, job["id"], finished)
        assert client.get(f"/jobs/{job['id']}/download").status_code == 200
        expired = wait_for(client, job["id"], lambda j: j["file"]["status"] == "expired", 5)
        assert expired["state"] == "succeeded"
        assert client.get(f"/jobs/{job['id']}/download").status_code == 410
        assert list(_jobs_dir(server).iterdir()) == []


def test_a_failing_query_fails_the_job_with_its_error(client: httpx.Client) -> None:
    job = submit(client, export="fails_at_row", format="csv")
    done = wait_for(client, job["id"], finished)
    assert done["state"] == "failed" and done["file"] is None
    assert "division by zero" in done["error"]
    assert done["attempts"] == 1  # a query error is not retried


def test_a_write_error_fails_the_job_and_leaves_no_partial_file(
    client: httpx.Client, jobs_server: LiveServer
) -> None:
    # A file-size limit on the server process makes its writes fail with EFBIG, the same way
    # a full disk (ENOSPC) does: a real write error, not a mock.
    pid = jobs_server.process.pid
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (2_000_000, hard))
    try:
        job = submit(client, export="numbers", params={"rows": 200_000}, format="csv")
        done = wait_for(client, job["id"], finished)
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))
    assert done["state"] == "failed", done
    assert "writing the file failed" in done["error"] and "too large" in done["error"]
    assert list(_jobs_dir(jobs_server).iterdir()) == []
    assert jobs_server.process.poll() is None  # the service lives on
    again = submit(client, export="numbers", format="csv")
    assert wait_for(client, again["id"], finished)["state"] == "succeeded"


def test_sse_follows_a_job_to_its_end(client: httpx.Client) -> None:
    job = submit(
        client,
        export="slow_numbers",
        params={"rows": 60, "delay_s": 0.02, "fetch_rows": 5},
        format="csv",
    )
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/jobs/{job['id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    assert events[0][0] == "state"
    assert events[-1][0] == "state" and events[-1][1]["state"] == "succeeded"
    assert events[-1][1]["rows"] == 60
    progress_rows = [e["rows"] for kind, e in events if kind == "progress"]
    assert progress_rows and progress_rows == sorted(progress_rows)  # visible, increasing


def test_websocket_watchers_follow_a_job(client: httpx.Client, jobs_server: LiveServer) -> None:
    job = submit(
        client,
        export="slow_numbers",
        params={"rows": 60, "delay_s": 0.02, "fetch_rows": 5},
        format="csv",
    )
    url = jobs_server.base_url.replace("http://", "ws://") + f"/jobs/{job['id']}/events"

    async def watch() -> tuple[list[dict[str, Any]], int | None]:
        messages = []
        async with websockets.connect(url) as socket:
            async for raw in socket:
                messages.append(json.loads(raw))
            return messages, socket.close_code

    async def two_watchers() -> list[tuple[list[dict[str, Any]], int | None]]:
        return list(await asyncio.gather(watch(), watch()))

    for messages, close_code in asyncio.run(two_watchers()):
        assert close_code == 1000
        assert messages[-1]["event"] == "state"
        assert messages[-1]["job"]["state"] == "succeeded"
        assert messages[-1]["job"]["rows"] == 60
        assert any(m["event"] == "progress" for m in messages)

    async def unknown(job_id: str) -> tuple[int, dict[str, Any]]:
        bad = url.replace(job["id"], job_id)
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            async with websockets.connect(bad) as socket:
                await socket.recv()
        response = refused.value.response
        assert response.headers["content-type"] == "application/problem+json"
        return response.status_code, json.loads(response.body or b"{}")

    # As SSE answers: 404 and the problem, not the bare 403 of a socket closed unaccepted.
    for job_id in ("6d1f0c1e-0000-4000-8000-000000000000", "not-a-uuid"):
        status, problem = asyncio.run(unknown(job_id))
        sse = client.get(f"/jobs/{job_id}/events")
        assert status == sse.status_code == 404
        assert problem["type"] == sse.json()["type"] == "urn:exporter:problem:unknown-job"


def test_list_is_newest_first_and_bounded(client: httpx.Client) -> None:
    ids = [submit(client, export="numbers", format="csv")["id"] for _ in range(3)]
    listed = [j["id"] for j in client.get("/jobs").json()["jobs"]]
    assert listed == ids[::-1]
    assert [j["id"] for j in client.get("/jobs?limit=2").json()["jobs"]] == ids[:0:-1]
    for limit in ("0", "1001", "x"):
        response = client.get(f"/jobs?limit={limit}")
        assert response.status_code == 422 and response.json()["parameter"] == "limit"


def _shared_queue(tmp_path: Path) -> dict[str, str]:
    return {
        "EXPORTER_JOBS_SCHEMA": f"jobs_shared_{os.getpid()}_{time.monotonic_ns() % 10**6}",
        "EXPORTER_JOBS_DIR": str(tmp_path / "shared-jobs"),
        "EXPORTER_JOBS_POLL": "0.1s",
        "EXPORTER_JOB_HEARTBEAT": "0.2s",
        "EXPORTER_JOB_LEASE": "1s",
    }


def _start_slow_job(server: LiveServer, *, rows: int, delay_s: float) -> dict[str, Any]:
    """Submit a slow job to ``server`` and return once it is running and has rows out."""
    params = {"rows": rows, "delay_s": delay_s, "fetch_rows": 10}
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        job = submit(client, export="slow_numbers", params=params, format="csv")
        wait_for(client, job["id"], lambda j: j["state"] == "running" and j["rows"] > 0)
    return job


def test_two_workers_share_the_queue(
    server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    shared = _shared_queue(tmp_path)
    first = server_factory(EXPORTER_JOBS_CONCURRENCY="1", **shared)
    second = server_factory(EXPORTER_JOBS_CONCURRENCY="1", **shared)
    body = {"export": "slow_numbers", "params": {"rows": 20, "delay_s": 0.02}, "format": "csv"}
    with httpx.Client(base_url=first.base_url, timeout=30) as client:
        ids = [submit(client, **body)["id"] for _ in range(8)]
        jobs = [wait_for(client, job_id, finished) for job_id in ids]
    assert all(j["state"] == "succeeded" and j["attempts"] == 1 for j in jobs)
    ran_first = {i for i in ids if f"job {i}: started" in first.log()}
    ran_second = {i for i in ids if f"job {i}: started" in second.log()}
    assert ran_first and ran_second  # both took part
    assert not ran_first & ran_second and ran_first | ran_second == set(ids)  # once each


@pytest.mark.parametrize("max_attempts", [3, 1])
def test_a_killed_worker_s_job_is_retried_or_failed(
    server_factory: Callable[..., LiveServer], tmp_path: Path, max_attempts: int
) -> None:
    shared = {**_shared_queue(tmp_path), "EXPORTER_JOB_MAX_ATTEMPTS": str(max_attempts)}
    doomed = server_factory(**shared)
    job = _start_slow_job(doomed, rows=150, delay_s=0.01)
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait()
    partials = list((tmp_path / "shared-jobs").glob(".*.part"))
    assert partials  # the dead worker left its temporary file behind
    survivor = server_factory(**shared)
    with httpx.Client(base_url=survivor.base_url, timeout=30) as client:
        done = wait_for(client, job["id"], finished)
        if max_attempts > 1:
            assert done["state"] == "succeeded" and done["attempts"] == 2
            assert done["rows"] == 150
            body_bytes = client.get(f"/jobs/{job['id']}/download").content
            assert body_bytes.count(b"\n") == 151  # header + every row, once
        else:
            assert done["state"] == "failed" and "worker lost" in done["error"]
            assert done["file"] is None
    assert not list((tmp_path / "shared-jobs").glob(".*.part"))  # cleaned up


def test_a_restart_mid_job_requeues_it_without_using_an_attempt(
    server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    shared = _shared_queue(tmp_path)
    first = server_factory(**shared)
    job = _start_slow_job(first, rows=100, delay_s=0.02)
    assert first.stop() == 0
    second = server_factory(**shared)
    with httpx.Client(base_url=second.base_url, timeout=30) as client:
        assert client.get(f"/jobs/{job['id']}").json()["state"] in ("queued", "running")
        done = wait_for(client, job["id"], finished)
    assert done["state"] == "succeeded" and done["attempts"] == 1 and done["rows"] == 100


def test_a_busy_pool_delays_a_job_without_using_its_attempts(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory(
        EXPORTER_POOL_MAX_SIZE="1", EXPORTER_POOL_ACQUIRE_TIMEOUT="0.3s",
        EXPORTER_JOB_MAX_ATTEMPTS="1", EXPORTER_JOBS_POLL="0.1s",
    )  # fmt: skip
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        slow: dict[str, str | int | float] = {
            "rows": 1000,
            "delay_s": 0.01,
            "format": "csv",
            "fetch_rows": 10,
        }
        with client.stream("GET", "/exports/slow_numbers", params=slow) as stream:
            chunks = stream.iter_bytes()
            next(chunks)  # the stream holds the only connection (and is kept open)
            job = submit(client, export="numbers", format="csv")
            time.sleep(1.5)  # several claims, each finding no free connection
            waiting = client.get(f"/jobs/{job['id']}").json()
            assert waiting["state"] in ("queued", "running") and waiting["attempts"] <= 1
        done = wait_for(client, job["id"], finished)
    assert done["state"] == "succeeded" and done["attempts"] == 1


def test_a_job_that_never_gets_a_connection_fails_visibly_instead_of_looping(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory(
        EXPORTER_POOL_MAX_SIZE="1", EXPORTER_POOL_ACQUIRE_TIMEOUT="0.3s",
        EXPORTER_JOBS_POLL="0.1s", EXPORTER_JOB_CONNECTION_WAIT="2s",
    )  # fmt: skip
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        # A stream that holds the only connection for longer than the job may wait.
        slow: dict[str, str | int | float] = {
            "rows": 100_000,
            "delay_s": 0.01,
            "format": "csv",
            "fetch_rows": 10,
        }
        with client.stream("GET", "/exports/slow_numbers", params=slow) as stream:
            chunks = stream.iter_bytes()
            next(chunks)  # kept: a dropped iterator would close the stream
            started = time.monotonic()
            job = submit(client, export="numbers", format="csv")
            done = wait_for(client, job["id"], finished, within_s=20)
            waited_s = time.monotonic() - started
    assert done["state"] == "failed", done
    assert "no database connection became free" in done["error"]
    assert "EXPORTER_JOB_CONNECTION_WAIT" in done["error"]
    assert 2 <= waited_s < 15
    assert "no database connection became free" in server.log()


def test_job_metrics_follow_the_queue_and_the_outcomes(
    client: httpx.Client, jobs_server: LiveServer
) -> None:
    def finished_count(export: str, state: str) -> float:
        return metric(jobs_server, "exporter_jobs_finished_total", export=export, state=state)

    slow = submit(client, **SLOW)
    assert wait_for_metric(jobs_server, "exporter_jobs", 1, state="running") == 1
    assert metric(jobs_server, "exporter_jobs_running_here") == 1
    client.delete(f"/jobs/{slow['id']}")
    wait_for(client, slow["id"], finished)
    done = submit(client, export="numbers", params={"rows": 321}, format="csv")
    wait_for(client, done["id"], finished)
    failed = submit(client, export="fails_at_row", format="csv")
    wait_for(client, failed["id"], finished)
    assert finished_count("slow_numbers", "cancelled") == 1
    assert finished_count("numbers", "succeeded") == 1
    assert finished_count("fails_at_row", "failed") == 1
    assert metric(jobs_server, "exporter_job_rows_total", export="numbers", format="csv") == 321
    assert metric(jobs_server, "exporter_job_duration_seconds_count", export="numbers") == 1
    assert wait_for_metric(jobs_server, "exporter_jobs", 0, state="running") == 0
    assert metric(jobs_server, "exporter_jobs_running_here") == 0


def test_sensitive_values_are_never_shown_or_logged(
    client: httpx.Client, jobs_server: LiveServer
) -> None:
    # code is cast to integer in the query: PostgreSQL's error quotes the bad value.
    secret, bad_code = "tok-3f9a-very-secret", "not-a-number-77"
    params = {"token": secret, "code": bad_code, "label": "visible"}
    job = submit(client, export="sensitive_echo", params=params, format="csv")
    assert job["params"] == {"token": "[redacted]", "code": "[redacted]", "label": "visible"}
    done = wait_for(client, job["id"], finished)
    assert done["state"] == "failed"
    assert "[redacted]" in done["error"] and bad_code not in done["error"]
    listed = client.get("/jobs").text
    log = jobs_server.log()
    for text in (listed, json.dumps(done), log):
        assert secret not in text and bad_code not in text


def test_a_job_of_a_watermark_export_records_the_token_the_next_pull_starts_after(
    client: httpx.Client, database_url: str
) -> None:
    """A job records its token; pulls chained from it deliver every row exactly once.

    A pull's bound only moves past rows once every transaction open when they were read has
    ended (docs/bi.md), so on a server where other sessions are busy the first pull may send
    fewer rows, or none: the chain, not one pull, is what must add up.
    """
    first = wait_for(client, submit(client, export="orders_incremental", format="csv")["id"],
                     finished)  # fmt: skip
    assert first["state"] == "succeeded" and first["watermark"]
    job_file = client.get(first["file"]["download"]).text.splitlines()
    assert job_file[0] == "id,created_at,status,amount"
    seen = [line.split(",")[0] for line in job_file[1:]]
    expected = int(asyncio.run(_count_orders(database_url)))
    token = first["watermark"]
    deadline = time.monotonic() + 30
    while len(seen) < expected and time.monotonic() < deadline:
        pulled = client.get("/exports/orders_incremental", params={"format": "csv", "after": token})
        assert pulled.status_code == 200, pulled.text
        seen += [line.split(",")[0] for line in pulled.text.splitlines()[1:]]
        token = pulled.headers["exporter-watermark"]
        time.sleep(0.1)
    assert len(seen) == len(set(seen)) == expected  # none lost, none twice
    # Everything delivered: a job after the last token sends nothing and records its own.
    second = wait_for(
        client,
        submit(client, export="orders_incremental", format="csv", params={"after": token})["id"],
        finished,
    )
    assert second["state"] == "succeeded" and second["rows"] == 0 and second["watermark"]
    # An export without a watermark has no token.
    plain = wait_for(client, submit(client, export="numbers", format="csv")["id"], finished)
    assert plain["state"] == "succeeded" and plain["watermark"] is None


async def _count_orders(database_url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM demo.orders"))
    finally:
        await conn.close()
