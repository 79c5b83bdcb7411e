"""What the lifespan starts and requests use: one typed ``Runtime``, and ``runtime_of`` to reach it.

The lifespan yields ``{STATE_RUNTIME: Runtime(...)}`` as its state (Starlette's lifespan
state): the server copies it into every request's and WebSocket's ``scope["state"]``, so
routes, middleware and pure ASGI responses all reach it the same way, typed, and it exists
exactly while the lifespan runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import HTTPConnection
from starlette.types import Scope

from exporter.export.service import ExportService
from exporter.jobs.storage import jobs_dir_problem
from exporter.jobs.store import JobStore
from exporter.jobs.worker import JobWorker
from exporter.observability.metrics import ExportMetrics

__all__ = ["STATE_RUNTIME", "Runtime", "runtime_of"]

#: The ``scope["state"]`` key the lifespan puts the ``Runtime`` under.
STATE_RUNTIME = "runtime"


@dataclass(frozen=True, slots=True)
class Runtime:
    """The resources the lifespan owns and requests borrow; built once the service is up."""

    service: ExportService
    job_store: JobStore
    #: None when this process runs no jobs (``jobs_concurrency`` 0): another one does.
    job_worker: JobWorker | None
    #: Where job files are written; a job's ``file_path`` is relative to it.
    jobs_dir: Path
    metrics: ExportMetrics

    def jobs_problem(self) -> str | None:
        """Why jobs cannot run or be served here now (worker dead, directory unusable)."""
        if self.job_worker is not None and self.job_worker.failure is not None:
            return self.job_worker.failure
        return jobs_dir_problem(self.jobs_dir)


def runtime_of(connection: HTTPConnection | Scope) -> Runtime:
    """The app's ``Runtime``, from a request, a WebSocket or a raw ASGI scope.

    Raises ``RuntimeError`` when the lifespan has not run (a server started with the lifespan
    off, or a test client used outside its ``with`` block): the resources do not exist then.
    """
    scope = connection.scope if isinstance(connection, HTTPConnection) else connection
    runtime = scope.get("state", {}).get(STATE_RUNTIME)
    if not isinstance(runtime, Runtime):
        raise RuntimeError(
            "the app's lifespan has not run, so its database service and job store do not "
            "exist: serve the app with the lifespan on (uvicorn's default, --lifespan auto/on)"
        )
    return runtime
