"""The processes under test: ``exporter serve`` and the naive reference app, as real servers.

Each runs as its own OS process on a free loopback port, so the client talks to it over a real
socket and its memory and CPU can be read from /proc without the harness's own mixed in.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Self

ROOT = Path(__file__).resolve().parents[2]
EXPORTER_BIN = Path(sys.executable).with_name("exporter")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSpec:
    """How to start one server: the command (``{port}`` is filled in) and its environment."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    #: The PostgreSQL ``application_name`` of its connections, to find its backends.
    application_name: str


def exporter_spec(
    *,
    database_url: str,
    sql_dir: Path,
    application_name: str,
    settings: Mapping[str, str] | None = None,
) -> ServerSpec:
    """``exporter serve`` on ``database_url``; ``settings`` are extra ``EXPORTER_*`` variables."""
    env = {
        "DATABASE_URL": database_url,
        "EXPORTER_SQL_DIR": str(sql_dir),
        "EXPORTER_APPLICATION_NAME": application_name,
        # The benchmark measures streaming: no keys, no per-key rate limit in the way.
        "EXPORTER_AUTH": "off",
        **(settings or {}),
    }
    argv = [str(EXPORTER_BIN), "serve", "--host", "127.0.0.1", "--port", "{port}"]
    return ServerSpec(name="exporter", argv=argv, env=env, application_name=application_name)


def naive_spec(*, database_url: str, sql_file: Path, application_name: str) -> ServerSpec:
    """The naive reference endpoint (``benchmarks/naive_app.py``) under uvicorn."""
    env = {
        "NAIVE_DATABASE_URL": database_url,
        "NAIVE_SQL_FILE": str(sql_file),
        "NAIVE_APPLICATION_NAME": application_name,
    }
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "benchmarks.naive_app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--log-level",
        "warning",
    ]
    return ServerSpec(name="naive", argv=argv, env=env, application_name=application_name)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A running server; ``with ServerProcess.start(spec, log) as server: ...`` stops it after."""

    def __init__(self, spec: ServerSpec, process: subprocess.Popen[bytes], port: int) -> None:
        self.spec = spec
        self.process = process
        self.port = port

    @classmethod
    def start(cls, spec: ServerSpec, log: IO[bytes], *, timeout_s: float = 30.0) -> ServerProcess:
        """Start ``spec`` and wait until ``/healthz`` answers (the catalog is loaded then)."""
        port = free_port()
        argv = [arg.replace("{port}", str(port)) for arg in spec.argv]
        env = {**os.environ, **spec.env}
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=log)
        server = cls(spec, process, port)
        try:
            server._wait_healthy(timeout_s)
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (a clean shutdown: connections closed), SIGKILL if it does not exit."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline_s = time.monotonic() + timeout_s
        while time.monotonic() < deadline_s:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.spec.name} exited with {self.process.returncode} while starting"
                    " (see the server log in the results folder)"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1.0)
                try:
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        return
                finally:
                    conn.close()
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.spec.name} did not answer /healthz within {timeout_s:g} s")
