"""The jobs directory: checked before the service starts, and on every readiness probe.

A directory the worker cannot write (a read-only mount, a path that is a file, a directory
removed under a running service) is a misconfiguration, named by its setting: the service
refuses to start on one, and ``/readyz`` says not ready while it is broken.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from exporter.errors import ConfigError

__all__ = ["JOBS_DIR_SETTING", "jobs_dir_problem", "prepare_jobs_dir"]

JOBS_DIR_SETTING = "EXPORTER_JOBS_DIR"


def prepare_jobs_dir(path: Path) -> None:
    """Create ``path`` and prove a file can be written there; ``ConfigError`` naming
    ``EXPORTER_JOBS_DIR`` if not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{secrets.token_hex(4)}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        reason = f"{path} cannot hold job files: {exc.strerror or exc}"
        raise ConfigError(JOBS_DIR_SETTING, reason) from None


def jobs_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot hold job files right now, or None: a cheap check (no write)."""
    if not path.is_dir():
        return f"{path} is not a directory"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} is not writable"
    return None
