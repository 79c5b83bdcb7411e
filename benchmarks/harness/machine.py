"""A description of the machine and software a result was measured on, for the report."""

from __future__ import annotations

import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.harness.references import PSQL
from benchmarks.harness.sampling import cpu_count

LIBRARIES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "asyncpg",
    "orjson",
    "pyarrow",
    "adbc-driver-postgresql",
    "adbc-driver-manager",
    "matplotlib",
)


def describe_machine(database_url: str, repo: Path) -> dict[str, Any]:
    """Host, CPU, memory, OS, PostgreSQL, Python and library versions, exporter's commit."""
    return {
        "host": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cores": cpu_count(),
        "memory_bytes": _memory_bytes(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _psql_value(database_url, "SELECT version()"),
        "postgresql_settings": {
            name: _psql_value(database_url, f"SHOW {name}")
            for name in ("shared_buffers", "work_mem", "max_connections")
        },
        "libraries": {name: _version(name) for name in LIBRARIES},
        "exporter_commit": _git(repo, "rev-parse", "--short", "HEAD"),
        "exporter_dirty": bool(_git(repo, "status", "--porcelain", "--", "exporter")),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _psql_value(database_url: str, sql: str) -> str:
    result = subprocess.run(
        [PSQL, "-X", "-At", "-d", database_url, "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or f"unknown ({result.stderr.strip()})"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()
