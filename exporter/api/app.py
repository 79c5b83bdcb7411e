"""``create_app(settings)``: the FastAPI application, its lifespan and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

import exporter
from exporter.api.jobs import router as jobs_router
from exporter.api.routes import build_router
from exporter.jobs import JobStore, JobWorker
from exporter.service import ExportService
from exporter.settings import Settings


def create_app(
    settings: Settings,
    *,
    service: ExportService | None = None,
    on_ready: Callable[[ExportService], None] | None = None,
) -> FastAPI:
    """The ASGI app. Connects, loads and describes the catalog at start-up (in the lifespan).

    ``service`` lets a caller that already started one hand it in; ``on_ready`` runs once the
    service is up (the CLI prints where to go).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = service is None
        running = service or await ExportService.start(settings)
        try:
            job_store = await JobStore.open(
                settings.jobs_dsn or "",
                schema=settings.jobs_schema,
                application_name=settings.application_name + "-jobs",
            )
        except BaseException:
            if owned:
                await running.close()
            raise
        worker = JobWorker(running, job_store) if settings.jobs_concurrency > 0 else None
        app.state.service = running
        app.state.job_store = job_store
        app.state.job_worker = worker
        app.state.jobs_dir = settings.jobs_dir
        app.include_router(build_router(running.catalog))
        app.include_router(jobs_router)
        app.openapi_schema = None  # the routes depend on the catalog: rebuild on first use
        if on_ready is not None:
            on_ready(running)
        try:
            async with anyio.create_task_group() as group:
                if worker is not None:
                    group.start_soon(worker.run)
                yield
                # Running jobs go back to the queue (another replica, or this one restarted,
                # picks them up); waiting for a long job would stall the shutdown.
                group.cancel_scope.cancel()
        finally:
            await job_store.close()
            if owned:
                await running.close(timeout_s=settings.shutdown_grace_s + 5)

    return FastAPI(
        title="exporter",
        version=exporter.__version__,
        description=(
            "Streams PostgreSQL query results as NDJSON, CSV, Arrow and Parquet. "
            "Each export is a named SQL file with typed parameters."
        ),
        lifespan=lifespan,
    )
