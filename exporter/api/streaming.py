"""The streaming export response: a pure ASGI response that owns the export's whole life.

It opens the export (connection, PREPARE, bind) before sending anything, so those failures
are still proper problem+json answers. Once the status is out, a failure aborts the connection
(the chunked body is never terminated, so clients see an incomplete transfer) and is logged;
nothing is ever appended to the body. A client that leaves cancels the database work at once,
whether the response is waiting on PostgreSQL or on the socket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import anyio
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from exporter.api.problems import response_for_error
from exporter.encoders import Format
from exporter.errors import ExporterError
from exporter.params import ExportRequest
from exporter.pipeline import StreamStats
from exporter.service import ExportService

log = logging.getLogger("exporter.stream")


class ExportResponse(Response):
    """Streams one export; cleans up on completion, failure and client disconnect.

    A ``Response`` subclass only so that FastAPI passes it through untouched; it shares none of
    ``Response``'s body handling.
    """

    def __init__(
        self,
        service: ExportService,
        request: ExportRequest,
        output: Format,
        headers: dict[str, str],
    ) -> None:
        self.service = service
        self.request = request
        self.output = output
        self.export_headers = headers
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.stats = StreamStats()
        self.outcome = "not started"
        self.failure: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started_s = time.monotonic()
        try:
            async with self.service.open_stream(self.request, self.output, self.stats) as chunks:
                await self._stream(chunks, receive, send)
        except ExporterError as exc:
            if self.outcome != "not started":
                raise
            self.outcome = "rejected"
            await response_for_error(exc)(scope, receive, send)
        finally:
            self._log_outcome(time.monotonic() - started_s)

    async def _stream(self, chunks: AsyncIterator[bytes], receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (k.lower().encode(), v.encode()) for k, v in self.export_headers.items()
                ],
            }
        )
        self.outcome = "streaming"
        async with anyio.create_task_group() as group:
            group.start_soon(self._cancel_on_disconnect, receive, group.cancel_scope)
            try:
                async for chunk in chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                self.outcome = "completed"
            except OSError:
                # The server could not write: the client is gone.
                self.outcome = "client_disconnected"
            except Exception as exc:
                # Returning without finishing the body makes the server close the connection
                # with the chunked body unterminated: the client sees a truncated transfer.
                self.outcome = "failed"
                self.failure = exc
            group.cancel_scope.cancel()

    async def _cancel_on_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                if self.outcome == "streaming":
                    self.outcome = "client_disconnected"
                scope.cancel()
                return

    def _log_outcome(self, duration_s: float) -> None:
        export = self.request.export.name
        fields = {
            "export": export,
            "format": self.output.name,
            "rows": self.stats.rows,
            "bytes": self.stats.bytes,
            "duration_s": round(duration_s, 3),
            "outcome": self.outcome,
        }
        if self.outcome == "failed":
            failure = self.failure
            log.error(
                "export %s aborted after %d rows: %s",
                export,
                self.stats.rows,
                failure,
                extra=fields,
                exc_info=failure,
            )
        else:
            log.info("export %s %s: %d rows", export, self.outcome, self.stats.rows, extra=fields)
