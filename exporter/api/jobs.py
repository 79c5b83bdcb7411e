"""Job routes: submit, list, inspect, cancel, download (with Range) and follow (SSE, WebSocket)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import orjson
from fastapi import APIRouter, Request, WebSocket
from starlette.responses import (
    FileResponse,
    MalformedRangeHeader,
    Response,
    StreamingResponse,
)
from starlette.websockets import WebSocketDisconnect

from exporter.api.auth import api_key_of, require_export_allowed
from exporter.api.negotiation import content_disposition, content_type
from exporter.api.openapi import binary_content, json_body
from exporter.api.problems import response_for_error
from exporter.api.state import runtime_of
from exporter.compression import codec_named
from exporter.encoders import FORMATS
from exporter.errors import (
    ExporterError,
    InvalidParameter,
    JobFileGone,
    JobFilePending,
    RequestTooLarge,
    UnknownJob,
    UnknownJobFile,
)
from exporter.export.service import ExportService
from exporter.files.naming import export_filename
from exporter.jobs.events import follow_job
from exporter.jobs.model import FileStatus, Job, JobState, load_job_body, parse_job_spec
from exporter.jobs.store import JobStore
from exporter.jobs.worker import JobWorker

#: Media types of compressed job files (they are files, not a Content-Encoding).
_COMPRESSED_MEDIA_TYPES = {
    "gzip": "application/gzip",
    "zstd": "application/zstd",
    "br": "application/x-brotli",
}
#: An SSE comment this often keeps proxies from closing a quiet stream.
SSE_KEEPALIVE_S = 15.0
LIST_LIMIT_DEFAULT = 50
LIST_LIMIT_MAX = 1000


def _json(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json",
        headers=headers,
    )  # fmt: skip


def _owner(request: Request | WebSocket) -> str | None:
    """The API key the request authenticated with (None when authentication is off)."""
    key = api_key_of(request)
    return key.key_id if key is not None else None


def _hidden_params(request: Request | WebSocket, job: Job) -> frozenset[str]:
    """Names of the job's sensitive parameters: their values are never shown back."""
    service: ExportService = runtime_of(request).service
    export = service.catalog.get(job.spec.export)
    if export is None:  # gone from the catalog: nothing says which values are secret
        return frozenset(job.spec.params)
    return frozenset(p.name for p in export.params if p.sensitive)


def _shown(request: Request | WebSocket, job: Job) -> dict[str, Any]:
    return job.describe(_hidden_params(request, job))


async def _find_job(request: Request | WebSocket, job_id: str) -> Job:
    """The job, if it exists and the caller may see it (others' jobs are unknown, not 403)."""
    store: JobStore = runtime_of(request).job_store
    try:
        parsed = UUID(job_id)
    except ValueError:
        raise UnknownJob(job_id) from None
    job = await store.get(parsed)
    owner = _owner(request)
    if job is None or (owner is not None and job.owner != owner):
        raise UnknownJob(job_id)
    return job


async def submit_job(request: Request) -> Response:
    """Validate like a streaming request, then queue the export to run in the background."""
    service: ExportService = runtime_of(request).service
    store: JobStore = runtime_of(request).job_store
    try:
        raw = await _read_body(request, service.settings.request_body_max_bytes)
        spec = parse_job_spec(load_job_body(raw))
        require_export_allowed(request, spec.export)  # 403, as for a stream
        service.bind(spec.export, spec.request_items())  # the streaming endpoint's checks
    except ExporterError as exc:
        return response_for_error(exc)
    codec = codec_named(spec.compression)
    extension = FORMATS[spec.format].extension + (codec.file_suffix if codec else "")
    job = await store.submit(
        spec,
        owner=_owner(request),
        max_attempts=service.settings.job_max_attempts,
        file_name=export_filename(spec.export, extension),
    )
    worker: JobWorker | None = runtime_of(request).job_worker
    if worker is not None:
        worker.wake()
    return _json(_shown(request, job), 202, headers={"Location": f"/jobs/{job.id}"})


async def _read_body(request: Request, limit_bytes: int) -> bytes:
    """The body, or ``RequestTooLarge`` as soon as it is known to pass ``limit_bytes`` (from
    ``Content-Length``, else while reading: never more than the limit held)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit_bytes:
        raise RequestTooLarge(limit_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit_bytes:
            raise RequestTooLarge(limit_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def list_jobs(request: Request) -> Response:
    store: JobStore = runtime_of(request).job_store
    raw_limit = request.query_params.get("limit", str(LIST_LIMIT_DEFAULT))
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not (
        1 <= int(raw_limit) <= LIST_LIMIT_MAX
    ):
        return response_for_error(
            InvalidParameter("limit", f"expected an integer from 1 to {LIST_LIMIT_MAX}")
        )
    jobs = await store.list_recent(owner=_owner(request), limit=int(raw_limit))
    return _json({"jobs": [_shown(request, job) for job in jobs]})


async def get_job(job_id: str, request: Request) -> Response:
    try:
        job = await _find_job(request, job_id)
    except ExporterError as exc:
        return response_for_error(exc)
    return _json(_shown(request, job))


async def delete_job(job_id: str, request: Request) -> Response:
    store: JobStore = runtime_of(request).job_store
    try:
        job = await _find_job(request, job_id)
    except ExporterError as exc:
        return response_for_error(exc)
    if not job.state.finished:
        cancelled = await store.request_cancel(job.id)
        assert cancelled is not None
        status = 202 if cancelled.state is JobState.RUNNING else 200
        return _json(_shown(request, cancelled), status)
    path = await store.remove_file(job.id, FileStatus.DELETED)
    if path is not None:
        await anyio.Path(runtime_of(request).jobs_dir / path).unlink(missing_ok=True)
    refreshed = await store.get(job.id)
    assert refreshed is not None
    return _json(_shown(request, refreshed))


async def download_job(job_id: str, request: Request) -> Response:
    return await _download(job_id, None, request)


async def download_job_file(job_id: str, filename: str, request: Request) -> Response:
    """The file at a URL that ends with its name, so that readers (pandas, DuckDB, polars)
    infer the format and the compression from it."""
    return await _download(job_id, filename, request)


async def _download(job_id: str, filename: str | None, request: Request) -> Response:
    try:
        job = await _find_job(request, job_id)
        if filename is not None and filename != job.file_name:
            raise UnknownJobFile(str(job.id), f"its file is {job.file_name!r}, not {filename!r}")
        path = _downloadable_path(job, runtime_of(request).jobs_dir)
        try:
            stat = await anyio.to_thread.run_sync(os.stat, path)
        except FileNotFoundError:
            raise JobFileGone(str(job.id), "the file is gone") from None
    except ExporterError as exc:
        return response_for_error(exc)
    headers = {
        # The checksum is the file's identity: stable across replicas (unlike mtime).
        "ETag": f'"{job.file_sha256}"',
        "Content-Disposition": content_disposition(job.file_name),
        "Cache-Control": "private, max-age=0, must-revalidate",
        "X-Content-SHA256": job.file_sha256 or "",
    }
    if _matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    output = FORMATS[job.spec.format]
    csv_header = job.spec.params.get("csv_header") != "false"
    media_type = _COMPRESSED_MEDIA_TYPES.get(
        job.spec.compression, content_type(output, csv_header=csv_header)
    )
    return _FileResponse(
        path,
        media_type=media_type,
        stat_result=stat,
        headers=headers,
    )


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (or is ``*``); weak tags compare equal."""
    if if_none_match is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


class _FileResponse(FileResponse):
    """Starlette's file response, except that a malformed ``Range`` is ignored (a full 200),
    as RFC 9110 14.2 asks, instead of answered 400."""

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader:
            return []


def _downloadable_path(job: Job, jobs_dir: Path) -> Path:
    if job.file_status in (FileStatus.EXPIRED, FileStatus.DELETED) or (
        job.file_status is FileStatus.AVAILABLE
        and job.expires_at is not None
        and job.expires_at <= datetime.now(UTC)
    ):
        status = "deleted" if job.file_status is FileStatus.DELETED else "expired"
        raise JobFileGone(str(job.id), f"the file was {status}")
    if job.file_status is not FileStatus.AVAILABLE or job.file_path is None:
        if job.state.finished:
            reason = f"the job {job.state.value} and has no file"
        else:
            reason = f"the job is {job.state.value}; the file is not written yet"
        raise JobFilePending(str(job.id), reason)
    return jobs_dir / job.file_path


async def job_events_sse(job_id: str, request: Request) -> Response:
    try:
        job = await _find_job(request, job_id)
    except ExporterError as exc:
        return response_for_error(exc)
    store: JobStore = runtime_of(request).job_store
    return StreamingResponse(
        _sse_events(store, job.id, _hidden_params(request, job)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _sse_events(
    store: JobStore, job_id: UUID, hidden_params: frozenset[str]
) -> AsyncIterator[bytes]:
    number = 0
    async for kind, job in follow_job(store, job_id, quiet_s=SSE_KEEPALIVE_S):
        if kind == "quiet":
            yield b": keep-alive\n\n"
            continue
        number += 1
        data = orjson.dumps(job.describe(hidden_params)).decode()
        yield f"id: {number}\nevent: {kind}\ndata: {data}\n\n".encode()


async def job_events_websocket(websocket: WebSocket, job_id: str) -> None:
    """Each message is ``{"event": "state"|"progress", "job": {...}}``; closes when it ends."""
    try:
        job = await _find_job(websocket, job_id)
    except UnknownJob as exc:
        await _refuse_websocket(websocket, exc)
        return
    await websocket.accept()
    store: JobStore = runtime_of(websocket).job_store
    hidden = _hidden_params(websocket, job)
    try:
        async for kind, snapshot in follow_job(store, job.id):
            await websocket.send_text(
                orjson.dumps({"event": kind, "job": snapshot.describe(hidden)}).decode()
            )
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return


#: A close code of the application range (4000-4999) that reads as HTTP's 404.
WEBSOCKET_UNKNOWN_JOB = 4404


async def _refuse_websocket(websocket: WebSocket, exc: UnknownJob) -> None:
    """Answer an unknown job as SSE does: a 404 with the problem+json body, before the
    handshake. A server without the denial-response extension cannot send one (closing before
    accepting would be a bare 403): the socket is accepted and closed with 4404 instead."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response_for_error(exc))
        return
    await websocket.accept()
    # A close reason holds at most 123 bytes.
    reason = str(exc).encode()[:123].decode(errors="ignore")
    await websocket.close(code=WEBSOCKET_UNKNOWN_JOB, reason=reason)


def build_jobs_router() -> APIRouter:
    """The ``/jobs`` routes (built by the app, not at import: no work happens on import)."""
    router = APIRouter(tags=["jobs"])
    problem = "(problem+json)"
    router.add_api_route(
        "/jobs",
        submit_job,
        methods=["POST"],
        status_code=202,
        summary="Submit an export job",
        openapi_extra={"requestBody": {"required": True, "content": json_body("JobSubmission")}},
        responses={
            202: {"description": "Queued; Location names the job", "content": json_body("Job")},
            403: {"description": f"The API key may not use this export {problem}"},
            404: {"description": f"Unknown export {problem}"},
            406: {"description": f"Unsupported format {problem}"},
            422: {"description": f"Invalid body or parameter {problem}"},
        },
    )
    router.add_api_route(
        "/jobs",
        list_jobs,
        methods=["GET"],
        summary="Recent jobs, newest first",
        response_class=Response,
        responses={200: {"description": "The jobs", "content": json_body("JobList")}},
    )
    router.add_api_route(
        "/jobs/{job_id}",
        get_job,
        methods=["GET"],
        summary="A job's state, progress and file",
        response_class=Response,
        responses={
            200: {"description": "The job", "content": json_body("Job")},
            404: {"description": f"Unknown job {problem}"},
        },
    )
    router.add_api_route(
        "/jobs/{job_id}",
        delete_job,
        methods=["DELETE"],
        summary="Cancel a queued or running job, or delete a finished job's file",
        response_class=Response,
        responses={
            200: {"description": "Cancelled, or its file deleted", "content": json_body("Job")},
            202: {"description": "A running job was asked to stop", "content": json_body("Job")},
            404: {"description": f"Unknown job {problem}"},
        },
    )
    media_types = [f.content_type for f in FORMATS.values()] + list(
        _COMPRESSED_MEDIA_TYPES.values()
    )
    download_responses: dict[int | str, dict[str, Any]] = {
        200: {"description": "The file", "content": binary_content(media_types)},
        206: {"description": "The requested byte range", "content": binary_content(media_types)},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        404: {"description": f"Unknown job {problem}"},
        409: {"description": f"The job has not produced a file {problem}"},
        410: {"description": f"The file expired or was deleted {problem}"},
        416: {"description": "Range not satisfiable"},
    }
    router.add_api_route(
        "/jobs/{job_id}/download",
        download_job,
        methods=["GET"],
        summary="Download a finished job's file (Range requests resume a broken download)",
        response_class=Response,
        responses=download_responses,
    )
    router.add_api_route(
        "/jobs/{job_id}/download/{filename}",
        download_job_file,
        methods=["GET"],
        summary="Download a finished job's file at a URL ending with its name (the job's "
        "file.url): readers infer the format and compression from it",
        response_class=Response,
        responses={**download_responses, 404: {"description": f"Unknown job or file {problem}"}},
    )
    # HEAD: the same answer without a body; not an operation of its own (one per path and
    # method keeps operationIds unique, and a generated "download" must not send HEAD).
    for path, endpoint in (
        ("/jobs/{job_id}/download", download_job),
        ("/jobs/{job_id}/download/{filename}", download_job_file),
    ):
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
    router.add_api_route(
        "/jobs/{job_id}/events",
        job_events_sse,
        methods=["GET"],
        summary="Follow a job as Server-Sent Events (also a WebSocket at the same path)",
        response_class=Response,
        responses={
            200: {
                "description": "Events until the job ends",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            404: {"description": f"Unknown job {problem}"},
        },
    )
    router.add_api_websocket_route("/jobs/{job_id}/events", job_events_websocket)
    return router
