"""``exporter jobs``: submit and wait, resume a broken download, verify the checksum."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.servers import LiveServer


@pytest.fixture
def server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory(EXPORTER_JOBS_POLL="0.2s", EXPORTER_JOB_HEARTBEAT="0.2s")


def jobs(server: LiveServer, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter.cli", "jobs", "--server", server.base_url, *args],
        env=os.environ, capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
    )  # fmt: skip


def test_submit_wait_download(server: LiveServer, tmp_path: Path) -> None:
    submitted = jobs(
        server, "submit", "numbers", "-p", "rows=40000", "-f", "csv", "-c", "zstd", "--wait",
        cwd=tmp_path,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert f"job {job_id} succeeded: 40,000 rows" in submitted.stderr
    # Only our own lines: no third-party INFO line per poll (cron mails stderr).
    assert "INFO" not in submitted.stderr and "HTTP Request" not in submitted.stderr
    job = httpx.get(f"{server.base_url}/jobs/{job_id}").json()

    downloaded = jobs(server, "download", job_id, cwd=tmp_path)
    assert downloaded.returncode == 0, downloaded.stderr
    target = tmp_path / job["file"]["name"]
    assert target.name.endswith(".csv.zst")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == job["file"]["sha256"]
    assert "sha256 verified" in downloaded.stderr


def test_download_resumes_a_partial_file(server: LiveServer, tmp_path: Path) -> None:
    job_id = jobs(server, "submit", "numbers", "-p", "rows=40000", "--wait", cwd=tmp_path)
    job_id_text = job_id.stdout.strip()
    job = httpx.get(f"{server.base_url}/jobs/{job_id_text}").json()
    whole = httpx.get(f"{server.base_url}{job['file']['download']}").content
    target = tmp_path / "numbers.csv"
    partial = tmp_path / "numbers.csv.part"

    partial.write_bytes(whole[:1000])  # a broken earlier download
    result = jobs(server, "download", job_id_text, "-o", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == whole and not partial.exists()

    # A corrupt partial: resuming cannot fix it, and the checksum notices.
    (tmp_path / "bad.csv.part").write_bytes(b"X" * 1000)
    result = jobs(server, "download", job_id_text, "-o", str(tmp_path / "bad.csv"), cwd=tmp_path)
    assert result.returncode == 1 and "checksum mismatch" in result.stderr
    assert not (tmp_path / "bad.csv.part").exists()


def test_failures_have_exit_codes(server: LiveServer, tmp_path: Path) -> None:
    unknown = jobs(server, "submit", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown export 'nope'" in unknown.stderr
    failing = jobs(server, "submit", "fails_at_row", "--wait", cwd=tmp_path)
    assert failing.returncode == 1 and "division by zero" in failing.stderr
    job_id = failing.stdout.strip()
    no_file = jobs(server, "download", job_id, cwd=tmp_path)
    assert no_file.returncode == 1 and "is failed" in no_file.stderr
    unreachable = subprocess.run(
        [sys.executable, "-m", "exporter.cli", "jobs", "--server", "http://127.0.0.1:1",
         "status"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert unreachable.returncode == 75 and "cannot reach" in unreachable.stderr
