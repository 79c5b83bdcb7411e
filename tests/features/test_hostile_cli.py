"""Issue 19, lows of the command line: an unknown job is one line and exit 2, a job id is one
path segment of the URL whatever it holds, and output suffixes are case-insensitive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import LiveServer


def _jobs(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter.cli", "jobs", "--server", server.base_url, *args],
        env=os.environ, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("action", ["status", "cancel", "download"])
@pytest.mark.parametrize("job_id", ["00000000-0000-0000-0000-000000000000", "nope"])
def test_an_unknown_job_is_one_line_and_exit_2(
    live_server: LiveServer, action: str, job_id: str
) -> None:
    result = _jobs(live_server, action, job_id)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("exporter:")]
    assert errors == [f"exporter: 404: unknown job {job_id!r}"]


@pytest.mark.parametrize("job_id", ["../metrics", "?limit=1", "x/../../healthz", "%2e%2e"])
def test_a_job_id_stays_one_path_segment(live_server: LiveServer, job_id: str) -> None:
    # Unescaped, these reached /metrics, the job list or /healthz and printed their answer.
    result = _jobs(live_server, "status", job_id)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert "unknown job" in result.stderr or "404" in result.stderr


@pytest.mark.parametrize(("name", "first"), [("c.CSV", b"n"), ("c.Parquet", b"PAR1"),
                                              ("c.NDJSON.GZ", b"\x1f\x8b")])  # fmt: skip
def test_output_suffixes_are_case_insensitive(
    database_url: str, catalog_dir: Path, tmp_path: Path, name: str, first: bytes
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "EXPORTER_SQL_DIR": str(catalog_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "exporter.cli", "export", "numbers", "-p", "rows=10",
         "-o", str(tmp_path / name)],
        env=env, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name).read_bytes().startswith(first)
