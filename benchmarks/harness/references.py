"""The references measured next to the service: psql's COPY and the ADBC driver.

(The third, the naive endpoint, is an HTTP server: ``benchmarks/naive_app.py``, started by
``server.naive_spec`` and read by the ordinary client.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from benchmarks.harness.client import FIRST_DATA_BYTES, READ_BYTES, Transfer
from benchmarks.harness.queries import copy_command, read_query
from benchmarks.harness.server import ROOT

PSQL = os.environ.get("BENCH_PSQL", "/usr/bin/psql")


def run_psql_copy(database_url: str, export_sql: Path, *, application_name: str) -> Transfer:
    """``psql -c "COPY (query) TO STDOUT WITH (FORMAT csv, HEADER)"``, its output read and dropped.

    The output goes through a pipe rather than straight to /dev/null so that its size and first
    byte can be measured like an HTTP body; reading it costs the harness a few percent of one
    core, which is not counted as psql's. ``cpu_s`` is psql's own CPU (from ``wait4``).
    """
    argv = [
        PSQL,
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        database_url,
        "-c",
        copy_command(read_query(export_sql)),
    ]
    env = {**os.environ, "PGAPPNAME": application_name}
    started_s = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    received = 0
    first_byte_s = first_data_s = 0.0
    fd = process.stdout.fileno()
    while data := os.read(fd, READ_BYTES):
        if not received:
            first_byte_s = time.perf_counter() - started_s
        if received < FIRST_DATA_BYTES <= received + len(data):
            first_data_s = time.perf_counter() - started_s
        received += len(data)
    stderr = process.stderr.read().decode(errors="replace").strip()
    # wait4 instead of wait(): it hands back the child's own CPU times.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    total_s = time.perf_counter() - started_s
    error = None if process.returncode == 0 else f"psql exited {process.returncode}: {stderr}"
    return Transfer(
        status=200 if error is None else 0,
        headers_s=first_byte_s,
        first_byte_s=first_byte_s if received else total_s,
        first_data_s=first_data_s if received >= FIRST_DATA_BYTES else total_s,
        total_s=total_s,
        bytes=received,
        cpu_s=usage.ru_utime + usage.ru_stime,
        error=error,
    )


class AdbcWorker:
    """The ADBC fetch (``adbc_fetch.py``) in its own process: started, then told to go once."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    @classmethod
    def start(
        cls, database_url: str, export_sql: Path, *, application_name: str, log: IO[bytes]
    ) -> AdbcWorker:
        """Start the worker and wait until it has connected."""
        separator = "&" if "?" in database_url else "?"
        url = f"{database_url}{separator}application_name={application_name}"
        argv = [sys.executable, "-m", "benchmarks.harness.adbc_fetch", url, str(export_sql)]
        process = subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        )
        worker = cls(process)
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            worker.close()
            raise RuntimeError("the ADBC worker did not start (see its log)")
        return worker

    @property
    def pid(self) -> int:
        return self.process.pid

    def fetch(self) -> tuple[Transfer, dict[str, Any]]:
        """Run the fetch; the transfer's "bytes" are the Arrow buffers' size in memory."""
        assert self.process.stdin is not None and self.process.stdout is not None
        started_s = time.perf_counter()
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        total_s = time.perf_counter() - started_s
        if not line:
            return _failed(total_s, "the ADBC worker died (see its log)"), {}
        result: dict[str, Any] = json.loads(line)
        transfer = Transfer(
            status=200,
            headers_s=result["first_batch_s"],
            first_byte_s=result["first_batch_s"],
            first_data_s=result["first_batch_s"],
            total_s=result["total_s"],
            bytes=result["arrow_bytes"],
            cpu_s=0.0,  # in-process: the worker's CPU is the "server" CPU
        )
        return transfer, result

    def close(self) -> None:
        """Let the worker disconnect and exit."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _failed(total_s: float, error: str) -> Transfer:
    return Transfer(
        status=0,
        headers_s=0.0,
        first_byte_s=total_s,
        first_data_s=total_s,
        total_s=total_s,
        bytes=0,
        cpu_s=0.0,
        error=error,
    )
