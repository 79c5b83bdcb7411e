"""``create_app(settings)``: the FastAPI application and its ``lifespan``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

import exporter
from exporter.access.keys import Authenticator, load_authenticator
from exporter.access.limits import RateLimiter
from exporter.api.auth import AuthenticationMiddleware
from exporter.api.content_coding import CompressionMiddleware
from exporter.api.docs import mount_offline_docs
from exporter.api.jobs import build_jobs_router
from exporter.api.openapi import declare_job_schemas, declare_security
from exporter.api.rate_limit import RateLimitMiddleware
from exporter.api.request_id import RequestIdMiddleware
from exporter.api.routes import build_router
from exporter.api.state import STATE_RUNTIME, Runtime
from exporter.api.ui import mount_ui
from exporter.catalog.definitions import Catalog
from exporter.encoders import FORMATS
from exporter.export.service import ExportService
from exporter.jobs import JobStore, JobWorker
from exporter.jobs.metrics import JobMetrics
from exporter.jobs.storage import prepare_jobs_dir
from exporter.observability.metrics import ExportMetrics
from exporter.settings import Settings

log = logging.getLogger("exporter")

#: Response headers a cross-origin script may read (CORS), beyond the safelisted ones.
CORS_EXPOSED_HEADERS = [
    "Content-Disposition", "Content-Encoding", "Exporter-Watermark", "X-Request-ID",
    "X-Content-SHA256", "Retry-After", "Location", "ETag", "Accept-Ranges", "Content-Range",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class AppStartup:
    """What ``create_app`` was given, kept on the app for ``lifespan`` to start from."""

    settings: Settings
    authenticator: Authenticator
    #: Made with the app, before the lifespan: the rate-limit middleware counts into it too.
    metrics: ExportMetrics
    #: A service the caller started and will close; None: the lifespan starts and closes one.
    service: ExportService | None = None
    #: Called once the service is up (the CLI prints where to go).
    on_ready: Callable[[ExportService], None] | None = None


class ExporterApp(FastAPI):
    """FastAPI that starts with ``lifespan`` from its ``startup``, and whose OpenAPI document
    declares the API key schemes when keys are required."""

    def __init__(self, startup: AppStartup, **kwargs: Any) -> None:
        super().__init__(lifespan=lifespan, **kwargs)
        self.startup = startup

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        declare_job_schemas(schema)  # idempotent too
        if self.startup.authenticator.enabled:
            declare_security(schema)  # idempotent: the schema is cached and reused
        return schema


@asynccontextmanager
async def lifespan(app: ExporterApp) -> AsyncIterator[dict[str, Runtime]]:
    """Start the service, the job store and the worker; hand them to requests as a ``Runtime``
    (lifespan state, see ``api.state``); stop them at shutdown.

    The export routes are added here, not in ``create_app``: one documented route per export
    needs the catalog, which is only known once the service has loaded it.
    """
    settings, metrics = app.startup.settings, app.startup.metrics
    prepare_jobs_dir(settings.jobs_dir)  # a jobs dir that cannot be written stops start-up
    owned = app.startup.service is None
    running = app.startup.service or await ExportService.start(settings)
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
    runtime = Runtime(
        service=running,
        job_store=job_store,
        job_worker=worker,
        jobs_dir=settings.jobs_dir,
        metrics=metrics,
    )
    metrics.watch_pool(running.pool_stats)
    metrics.declare(running.catalog, FORMATS)
    app.include_router(build_router(running.catalog))
    app.include_router(build_jobs_router())
    app.openapi_schema = None  # the routes depend on the catalog: rebuild on first use
    _log_authentication(app.startup.authenticator, running.catalog)
    if app.startup.on_ready is not None:
        app.startup.on_ready(running)
    try:
        async with anyio.create_task_group() as group:
            if worker is not None:
                group.start_soon(worker.supervise)
            yield {STATE_RUNTIME: runtime}
            # Running jobs go back to the queue (another replica, or this one restarted,
            # picks them up); waiting for a long job would stall the shutdown.
            group.cancel_scope.cancel()
    finally:
        await job_store.close()
        if owned:
            await running.close(timeout_s=settings.shutdown_grace_s + 5)


def create_app(
    settings: Settings,
    *,
    service: ExportService | None = None,
    on_ready: Callable[[ExportService], None] | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """The ASGI app. Connects, loads and describes the catalog at start-up (in ``lifespan``).

    ``service`` lets a caller that already started one hand it in; ``on_ready`` runs once the
    service is up (the CLI prints where to go). ``authenticator`` defaults to the one the
    settings describe (as on a real database: no keys and no ``EXPORTER_AUTH=off`` is an
    error). The app's metrics (``runtime_of(request).metrics``) live on a registry of its own,
    so apps in one process never share or clash.
    """
    if authenticator is None:
        authenticator = load_authenticator(settings, embedded_demo=False)
    metrics = ExportMetrics()
    startup = AppStartup(settings, authenticator, metrics, service=service, on_ready=on_ready)

    app = ExporterApp(
        startup,
        title="exporter",
        version=exporter.__version__,
        description=(
            "Streams PostgreSQL query results as NDJSON, JSON, CSV, Arrow and Parquet. "
            "Each export is a named SQL file with typed parameters."
        ),
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
            Middleware(RateLimitMiddleware, limiter=RateLimiter(), metrics=metrics),
        ],
    )
    mount_offline_docs(app)
    # The pages; their session middleware goes outside authentication, which it feeds.
    mount_ui(app, settings, authenticator)
    # Added last, so outermost among the app's middleware: every answer carries the id, the
    # refusals of middleware added before it included.
    app.add_middleware(RequestIdMiddleware)
    if settings.cors_origins:
        # Outermost: a preflight carries no API key and must be answered before authentication.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID", "Range"],
            # What a script may read of an answer besides the safelisted headers.
            expose_headers=CORS_EXPOSED_HEADERS,
            # Keys travel in headers a script sets, never in cookies: no credentialed requests
            # (the pages' session cookie is SameSite=Strict and stays on the service's origin).
            allow_credentials=False,
            max_age=600,
        )
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
