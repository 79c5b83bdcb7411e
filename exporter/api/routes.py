"""HTTP routes: the catalog listing, one documented route per export, health and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Request
from prometheus_client.exposition import choose_encoder
from starlette.responses import Response

from exporter.api.auth import api_key_of, may_use_export, require_export_allowed
from exporter.api.content_coding import choose_response_coding
from exporter.api.negotiation import (
    choose_format,
    content_disposition,
    content_type,
    download_filename,
)
from exporter.api.openapi import document_export
from exporter.api.query import read_query
from exporter.api.state import runtime_of
from exporter.api.streaming import ExportResponse, HeadersOnlyResponse, refuse
from exporter.catalog.definitions import Catalog
from exporter.catalog.params import ExportRequest
from exporter.encoders import Format
from exporter.errors import ExporterError, InvalidParameter, UnknownExport
from exporter.export.service import ExportService
from exporter.observability.metrics import ExportMetrics


def build_router(catalog: Catalog) -> APIRouter:
    """Routes for ``catalog``: each export gets its own documented path."""
    router = APIRouter()

    @router.get("/exports", summary="List the exports this API key may use", tags=["exports"])
    async def list_exports(request: Request) -> Response:
        service = runtime_of(request).service
        listing = {
            "exports": [
                export.describe()
                for export in service.catalog.values()
                if may_use_export(request, export.name)
            ]
        }
        return Response(orjson.dumps(listing), media_type="application/json")

    for export in catalog.values():
        router.add_api_route(
            f"/exports/{export.name}",
            _stream_route(export.name),
            methods=["GET"],
            summary=export.description or f"Export {export.name}",
            tags=["exports"],
            response_class=Response,
            openapi_extra=document_export(export),
            name=f"export_{export.name}",
        )
        add_head_route(router, f"/exports/{export.name}", _head_route(export.name))

    @router.get(
        "/exports/{name}",
        summary="Stream any export by name",
        tags=["exports"],
        response_class=Response,
        include_in_schema=False,
    )
    async def stream_by_name(name: str, request: Request) -> Response:
        return _start_stream(name, request)

    async def head_by_name(name: str, request: Request) -> Response:
        return _answer_head(name, request)

    add_head_route(router, "/exports/{name}", head_by_name)

    @router.get("/healthz", summary="Liveness: the process answers", tags=["health"])
    async def healthz() -> dict[str, str]:
        # Touches neither the database nor the pool: it must answer while every connection is
        # busy exporting.
        return {"status": "ok"}

    @router.get(
        "/metrics",
        summary="Prometheus metrics: exports, rows, bytes, durations, outcomes, the pool",
        tags=["health"],
        response_class=Response,
    )
    async def metrics(request: Request) -> Response:
        # Never touches the database: the pool gauges are read from the pool object. Encoding
        # runs in a worker thread: with many exports it takes tens of milliseconds, which the
        # event loop (and /healthz) should not wait out.
        registry = runtime_of(request).metrics.registry
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await anyio.to_thread.run_sync(encode, registry)
        return Response(body, headers={"Content-Type": content_type})

    @router.get(
        "/readyz",
        summary="Readiness: PostgreSQL reachable and the catalog loaded",
        tags=["health"],
        responses={
            503: {
                "description": "Not ready (database unreachable, job worker or jobs "
                "directory unusable)"
            }
        },
    )
    async def readyz(request: Request) -> Response:
        runtime = runtime_of(request)
        service = runtime.service
        problem = await service.check_database()
        pool = service.pool_stats()
        if problem is None and pool["lost"] >= pool["max"]:
            problem = f"the pool lost all {pool['lost']} of its connections"
        jobs_problem = runtime.jobs_problem()
        status = "ready" if problem is None and jobs_problem is None else "not ready"
        if status == "ready" and pool["lost"]:
            status = "degraded"  # still serving, on fewer connections: say so
        body = {
            "status": status,
            "database": problem or "ok",
            "jobs": jobs_problem or "ok",
            "exports": len(service.catalog),
            "pool": pool,
        }
        problem = problem or jobs_problem
        return Response(
            orjson.dumps(body),
            status_code=200 if problem is None else 503,
            media_type="application/json",
            headers={"Retry-After": "1"} if problem else None,
        )

    # HEAD answers what GET would, without a body: the catalog, the probes and the metrics by
    # running their GET (cheap, and the same headers); an export by checking, not running.
    for path, endpoint in (
        ("/exports", list_exports),
        ("/healthz", healthz),
        ("/metrics", metrics),
        ("/readyz", readyz),
    ):
        add_head_route(router, path, endpoint)
    return router


def add_head_route(router: APIRouter, path: str, endpoint: Any) -> None:
    """``HEAD path`` answered by ``endpoint``, left out of the OpenAPI document: HEAD is GET
    without the body (RFC 9110), and one operation per path keeps operationIds unique."""
    router.add_api_route(
        path,
        endpoint,
        methods=["HEAD"],
        include_in_schema=False,
        name=f"head {path}",
    )


def _stream_route(export_name: str) -> Any:
    async def stream_export(request: Request) -> Response:
        return _start_stream(export_name, request)

    return stream_export


def _head_route(export_name: str) -> Any:
    async def head_export(request: Request) -> Response:
        return _answer_head(export_name, request)

    return head_export


def _start_stream(export_name: str, request: Request) -> Response:
    call = ExportCall.read(request, export_name)
    try:
        export_request, output = call.prepare()
    except ExporterError as exc:
        return call.refuse(exc)
    return call.stream(export_request, output)


def _answer_head(export_name: str, request: Request) -> Response:
    """What GET would answer, status and headers, checked the way GET checks them, without
    running the query: link checkers, uptime monitors and readers that probe first (polars,
    DuckDB) cost PostgreSQL nothing."""
    call = ExportCall.read(request, export_name)
    try:
        export_request, output = call.prepare()
        call.check_capacity()
    except ExporterError as exc:
        return call.refuse(exc)
    return HeadersOnlyResponse(call.headers(export_request, output))


@dataclass(frozen=True, slots=True)
class ExportCall:
    """One export request, read once: its export and query, and the runtime's service and
    metrics. Checking, refusing and streaming all start from it, not from the request again."""

    request: Request
    export_name: str
    #: The query string as sent, in order and with repeats (binding rejects the repeats).
    items: list[tuple[str, str]]
    service: ExportService
    metrics: ExportMetrics
    #: The first query item that was not UTF-8 (its text above has U+FFFD): refused with 422.
    invalid_utf8: str | None = None

    @classmethod
    def read(cls, request: Request, export_name: str) -> ExportCall:
        """The call ``request`` makes to ``export_name``."""
        runtime = runtime_of(request)
        items, invalid_utf8 = read_query(request.scope)
        return cls(
            request=request,
            export_name=export_name,
            items=items,
            invalid_utf8=invalid_utf8,
            service=runtime.service,
            metrics=runtime.metrics,
        )

    def prepare(self) -> tuple[ExportRequest, Format]:
        """Everything that can refuse the export cheaply, before any byte is sent: the key's
        permission, the parameters, the format and the content coding."""
        # Before the lookup: a key learns nothing about exports it may not use, not even
        # whether they exist.
        require_export_allowed(self.request, self.export_name)
        if self.invalid_utf8 is not None:  # never bound as U+FFFD
            raise InvalidParameter(self.invalid_utf8, "not valid UTF-8 once percent-decoded")
        export_request = self.service.bind(self.export_name, self.items)
        output = choose_format(export_request.format_name, self.request.headers.get("accept"))
        export_request.check_format(output.name)
        choose_response_coding(
            self.request,
            wanted=export_request.compress == "always"
            or output.name in self.service.settings.compress_formats,
        )
        return export_request, output

    def refuse(self, exc: ExporterError) -> Response:
        """The problem+json answer to a call ``prepare`` refused, logged and counted."""
        if isinstance(exc, UnknownExport):
            known = [name for name in exc.known if may_use_export(self.request, name)]
            exc = UnknownExport(exc.name, known)
        return refuse(
            self.request.scope, exc, metrics=self.metrics, catalog=self.service.catalog,
            export_name=self.export_name, items=self.items,
        )  # fmt: skip

    def check_capacity(self) -> None:
        """Raise as GET would if the key or the replica runs its maximum of exports (the slot
        is given back at once: nothing runs)."""
        with self.service.take_export_slot(api_key_of(self.request)):
            pass

    def headers(self, export_request: ExportRequest, output: Format) -> dict[str, str]:
        """The download's headers (compression's are added by its middleware)."""
        filename = download_filename(self.export_name, output)
        return {
            "Content-Type": content_type(output, csv_header=export_request.csv.header),
            "Content-Disposition": content_disposition(filename),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            # A stream cannot resume: a Range is ignored and the whole export sent (200).
            "Accept-Ranges": "none",
        }

    def stream(self, export_request: ExportRequest, output: Format) -> ExportResponse:
        """The response that runs the prepared export and streams it as a download."""
        headers = self.headers(export_request, output)
        api_key = api_key_of(self.request)
        return ExportResponse(
            self.service, export_request, output, headers, metrics=self.metrics, api_key=api_key
        )
