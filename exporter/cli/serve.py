"""``exporter serve``: the HTTP service, on the embedded PostgreSQL when no URL is set."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from exporter.access.keys import Authenticator, load_authenticator
from exporter.catalog.definitions import load_catalog
from exporter.errors import ExporterError
from exporter.jobs.storage import prepare_jobs_dir
from exporter.observability.logs import configure_logging, redact_url
from exporter.settings import Settings

if TYPE_CHECKING:
    from exporter.export.service import ExportService

log = logging.getLogger("exporter")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="address to bind (default: EXPORTER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: EXPORTER_PORT or 8000)")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """``exporter serve``: returns the exit code once the service has stopped."""
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = Settings.from_env(environ, **overrides)
    except ExporterError as exc:
        # No settings, so no log format either: a plain line.
        print(f"exporter: {exc}", file=sys.stderr)
        return 2
    log_format = configure_logging(settings.log_format)
    try:
        load_catalog(settings.sql_dir)  # fail fast, before any server starts
        prepare_jobs_dir(settings.jobs_dir)
        authenticator = load_authenticator(settings, embedded_demo=settings.database_url is None)
    except ExporterError as exc:
        log.error("exporter cannot start: %s", exc)
        return 2
    return serve_forever(settings, authenticator, log_format=log_format)


def serve_forever(
    settings: Settings, authenticator: Authenticator, *, log_format: str = "text"
) -> int:
    """Run the service until SIGINT/SIGTERM, on the embedded PostgreSQL if no URL is set.

    Logging is configured by the caller (``configure_logging``); ``log_format`` is the format
    it chose: the start-up banner is for a terminal, a JSON log gets one record instead.
    """
    import uvicorn

    from exporter.api import create_app

    # SIGTERM ends the process through SystemExit(0), so every `finally` below runs (the
    # embedded server is stopped) and the exit code says "clean shutdown". uvicorn installs its
    # own handler while serving, drains the exports, then re-raises the signal into this one.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # Past a file-size limit (ulimit -f), a write should fail the one job writing (EFBIG),
    # not kill the whole service with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    embedded = None
    if settings.database_url is None:
        from exporter.db.demo import ensure_demo
        from exporter.db.embedded import start_embedded

        embedded = start_embedded(settings.data_dir)
        demo_dir = settings.sql_dir.parent / "demo"
        asyncio.run(ensure_demo(embedded.url, demo_dir, orders=settings.demo_orders))
        settings = dataclasses.replace(settings, database_url=embedded.url)
    embedded_dir = embedded.pgdata if embedded else None

    def on_ready(service: ExportService) -> None:
        _announce(
            settings, embedded_dir, len(service.catalog), authenticator,
            banner=log_format == "text",
        )  # fmt: skip

    try:
        uvicorn.run(
            create_app(settings, on_ready=on_ready, authenticator=authenticator),
            host=settings.host,
            port=settings.port,
            log_level="info",
            log_config=None,  # configure_logging's handler formats uvicorn's records too
            timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _announce(
    settings: Settings,
    embedded_dir: Path | None,
    exports: int,
    authenticator: Authenticator,
    *,
    banner: bool,
) -> None:
    base = f"http://{settings.host}:{settings.port}"
    database = str(embedded_dir) if embedded_dir else redact_url(settings.database_url or "")
    log.info(
        "exporter ready on %s: %d exports from %s",
        base,
        exports,
        database,
        extra={"fields": {"url": base, "exports": exports, "database": database}},
    )
    if not banner:
        return
    where = f"embedded PostgreSQL in {embedded_dir}" if embedded_dir else "DATABASE_URL"
    access = (
        f"API keys required ({len(authenticator.keys)}): 'Authorization: Bearer <key>'"
        if authenticator.enabled
        else "authentication OFF"
    )
    print(
        f"\nexporter on {base} (database: {where}; {access})\n"
        f"  {base}/docs                          API documentation\n"
        f"  {base}/exports                       the catalog\n"
        f"  {base}/exports/orders?format=csv     a CSV download\n"
        f"  {base}/exports/customers             NDJSON\n",
        file=sys.stderr,
    )
