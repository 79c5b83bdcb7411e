"""``exporter serve`` in a subprocess: a real uvicorn on a real socket, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """``exporter serve`` in a subprocess: a real uvicorn on a real socket."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM, then wait; returns the exit code (SIGKILL after ``timeout_s``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_server(
    database_url: str, catalog_dir: Path, log_dir: Path, **env_overrides: str
) -> LiveServer:
    """Start ``exporter serve`` and wait until /healthz answers.

    Authentication is off unless ``env_overrides`` turns it on (``EXPORTER_AUTH``,
    ``EXPORTER_KEYS_FILE``): most tests are about streaming, not keys.
    """
    port = _free_port()
    log_path = log_dir / f"server-{port}.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "EXPORTER_SQL_DIR": str(catalog_dir),
        "EXPORTER_PORT": str(port),
        "EXPORTER_APPLICATION_NAME": "exporter-live-tests",
        # Each server gets its own job table and directory, so a worker never picks up another
        # test's jobs; tests of several workers sharing a queue pass the same values.
        "EXPORTER_JOBS_SCHEMA": f"jobs_{port}",
        "EXPORTER_JOBS_DIR": str(log_dir / f"jobs-{port}"),
        "EXPORTER_AUTH": "off",
        # Tests drive tiny batches on purpose (slow streams, many round trips); the floor
        # itself is tested with its default (tests/features/test_hostile_memory.py).
        "EXPORTER_FETCH_ROWS_MIN": "1",
        **env_overrides,
    }
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "exporter.cli", "serve"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"exporter serve did not start:\n{server.log()}")
        time.sleep(0.1)
