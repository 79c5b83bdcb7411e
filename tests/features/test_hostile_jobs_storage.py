"""Issue 19, High 2: a jobs directory that cannot be used stops start-up (exit 2, naming
``EXPORTER_JOBS_DIR``), and one that breaks while serving makes ``/readyz`` say so, instead of
a process that looks healthy and serves nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.servers import LiveServer


@pytest.mark.parametrize("shape", ["file", "below-a-file"])
def test_an_unusable_jobs_dir_stops_start_up(
    database_url: str, catalog_dir: Path, tmp_path: Path, shape: str
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    jobs_dir = blocker if shape == "file" else blocker / "jobs"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "EXPORTER_SQL_DIR": str(catalog_dir),
        "EXPORTER_PORT": "1",  # never bound: it must stop before
        "EXPORTER_AUTH": "off",
        "EXPORTER_JOBS_DIR": str(jobs_dir),
        "EXPORTER_LOG_FORMAT": "text",
    }
    result = subprocess.run(
        [sys.executable, "-m", "exporter.cli", "serve"],
        env=env, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr.decode()
    assert b"EXPORTER_JOBS_DIR" in result.stderr
    assert str(jobs_dir).encode() in result.stderr


def _readyz(server: LiveServer) -> httpx.Response:
    return httpx.get(server.base_url + "/readyz", timeout=10)


def test_readyz_reflects_the_jobs_storage(
    server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    jobs_dir = tmp_path / "jobs-under-test"
    server = server_factory(EXPORTER_JOBS_DIR=str(jobs_dir))
    ready = _readyz(server)
    assert ready.status_code == 200 and ready.json()["jobs"] == "ok"
    jobs_dir.rmdir()
    jobs_dir.write_text("replaced by a file")
    broken = _readyz(server)
    assert broken.status_code == 503
    assert broken.json()["status"] == "not ready"
    assert str(jobs_dir) in broken.json()["jobs"]
    jobs_dir.unlink()
    jobs_dir.mkdir()
    deadline = time.monotonic() + 10
    while _readyz(server).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
