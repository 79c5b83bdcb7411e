"""``create_app(settings)``: the FastAPI application, its lifespan and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

import exporter
from exporter.api.routes import build_router
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
        app.state.service = running
        app.include_router(build_router(running.catalog))
        app.openapi_schema = None  # the routes depend on the catalog: rebuild on first use
        if on_ready is not None:
            on_ready(running)
        try:
            yield
        finally:
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
