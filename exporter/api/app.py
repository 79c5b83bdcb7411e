"""``create_app(settings)``: the FastAPI application, its lifespan and error handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.middleware import Middleware

import exporter
from exporter.api.auth import AuthenticationMiddleware, declare_security
from exporter.api.content_coding import CompressionMiddleware
from exporter.api.docs import mount_offline_docs
from exporter.api.jobs import router as jobs_router
from exporter.api.rate_limit import RateLimitMiddleware
from exporter.api.request_id import RequestIdMiddleware
from exporter.api.routes import build_router
from exporter.api.ui import mount_ui
from exporter.auth import Authenticator, load_authenticator
from exporter.catalog import Catalog
from exporter.encoders import FORMATS
from exporter.jobs import JobStore, JobWorker
from exporter.jobs.metrics import JobMetrics
from exporter.limits import RateLimiter
from exporter.metrics import ExportMetrics
from exporter.service import ExportService
from exporter.settings import Settings

log = logging.getLogger("exporter")


class ExporterApp(FastAPI):
    """FastAPI whose OpenAPI document declares the API key schemes when keys are required."""

    def __init__(self, *, authenticator: Authenticator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.authenticator = authenticator

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        if self.authenticator.enabled:
            declare_security(schema)  # idempotent: the schema is cached and reused
        return schema


def create_app(
    settings: Settings,
    *,
    service: ExportService | None = None,
    on_ready: Callable[[ExportService], None] | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """The ASGI app. Connects, loads and describes the catalog at start-up (in the lifespan).

    ``service`` lets a caller that already started one hand it in; ``on_ready`` runs once the
    service is up (the CLI prints where to go). ``authenticator`` defaults to the one the
    settings describe (as on a real database: no keys and no ``EXPORTER_AUTH=off`` is an
    error). The app's metrics (``app.state.metrics``) live on a registry of its own, so apps
    in one process never share or clash.
    """
    if authenticator is None:
        authenticator = load_authenticator(settings, embedded_demo=False)
    metrics = ExportMetrics()

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
        worker = None
        if settings.jobs_concurrency > 0:
            worker = JobWorker(running, job_store, JobMetrics(metrics.registry))
        app.state.service = running
        app.state.job_store = job_store
        app.state.job_worker = worker
        app.state.jobs_dir = settings.jobs_dir
        metrics.watch_pool(running.pool_stats)
        metrics.declare(running.catalog, FORMATS)
        app.include_router(build_router(running.catalog))
        app.include_router(jobs_router)
        app.openapi_schema = None  # the routes depend on the catalog: rebuild on first use
        _log_authentication(authenticator, running.catalog)
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

    app = ExporterApp(
        authenticator=authenticator,
        title="exporter",
        version=exporter.__version__,
        description=(
            "Streams PostgreSQL query results as NDJSON, CSV, Arrow and Parquet. "
            "Each export is a named SQL file with typed parameters."
        ),
        lifespan=lifespan,
        docs_url=None,  # served offline by mount_offline_docs
        redoc_url=None,
        # Outermost first: the key is known before its rate is counted. Compression wraps
        # everything; it only touches the 200s that ask for it (see content_coding).
        middleware=[
            Middleware(
                CompressionMiddleware,
                offered=settings.compression,
                json_min_bytes=settings.compress_min_bytes,
                threads=settings.encode_threads,
            ),
            Middleware(AuthenticationMiddleware, authenticator=authenticator),
            Middleware(RateLimitMiddleware, limiter=RateLimiter()),
        ],
    )
    app.state.metrics = metrics
    mount_offline_docs(app)
    # The pages; their session middleware goes outside authentication, which it feeds.
    mount_ui(app, settings, authenticator)
    # Added last, so outermost among the app's middleware: every answer carries the id, the
    # refusals of middleware added before it included.
    app.add_middleware(RequestIdMiddleware)
    return app


def _log_authentication(authenticator: Authenticator, catalog: Catalog) -> None:
    if not authenticator.enabled:
        log.warning(
            "authentication is OFF (%s): every client may use every export",
            authenticator.off_reason,
        )
        return
    log.info("authentication on: %d API key(s)", len(authenticator.keys))
    for key in authenticator.keys.values():
        if not any(key.may_use(name) for name in catalog):
            log.warning(
                "API key %r may use no export: its patterns %s match none",
                key.key_id,
                list(key.exports),
            )
