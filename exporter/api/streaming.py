"""The streaming export response: a pure ASGI response that owns the export's whole life.

It opens the export (connection, PREPARE, bind) before sending anything, so those failures
are still proper problem+json answers. Once the status is out, a failure aborts the connection
(the chunked body is never terminated, so clients see an incomplete transfer) and is logged;
nothing is ever appended to the body. A watcher on ``receive`` cancels everything the moment
the client leaves, whether the export is waiting for a connection, on PostgreSQL or on the
socket; the connection is released in the service's ``finally``.
"""

from __future__ import annotations

import logging
import time

import anyio
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from exporter.api.problems import response_for_error
from exporter.auth import ApiKey
from exporter.encoders import Format
from exporter.errors import ExporterError
from exporter.limits import Slot
from exporter.params import ExportRequest
from exporter.pipeline import StreamStats
from exporter.service import ExportService, Pump

log = logging.getLogger("exporter.stream")


class ExportTooLong(Exception):
    """The export ran past ``max_export_duration_s``."""


class ExportResponse(Response):
    """Streams one export; cleans up on completion, failure, disconnect and shutdown.

    A ``Response`` subclass only so that FastAPI passes it through untouched; it shares none of
    ``Response``'s body handling.
    """

    def __init__(
        self,
        service: ExportService,
        request: ExportRequest,
        output: Format,
        headers: dict[str, str],
        *,
        api_key: ApiKey | None = None,
    ) -> None:
        self.service = service
        self.api_key = api_key
        self.request = request
        self.output = output
        self.export_headers = headers
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.stats = StreamStats()
        #: not_started -> streaming -> completed | failed | client_disconnected |
        #: client_too_slow | rejected | cancelled (server shutting down)
        self.outcome = "not_started"
        self.failure: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started_s = time.monotonic()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._cancel_on_disconnect, receive, group.cancel_scope)
                await self._respond(scope, receive, send)
                group.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            if self.outcome in ("not_started", "streaming"):
                self.outcome = "cancelled"
            raise
        finally:
            self._log_outcome(time.monotonic() - started_s)

    async def _respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            # The slot is taken here, inside the response, so that the `with` gives it back
            # on every ending: completion, failure, disconnect (cancellation) and shutdown.
            with self.service.take_export_slot(self.api_key) as slot:
                async with self.service.open_stream(self.request, self.output, self.stats) as pump:
                    await self._stream(pump, send, slot)
        except ExporterError as exc:
            if self.outcome != "not_started":
                raise
            self.outcome = "rejected"
            self.failure = exc
            await response_for_error(exc)(scope, receive, send)

    async def _stream(self, pump: Pump, send: Send, slot: Slot) -> None:
        settings = self.service.settings
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (key.lower().encode(), value.encode())
                    for key, value in self.export_headers.items()
                ],
            }
        )
        self.outcome = "streaming"
        write_timeout_s = settings.client_write_timeout_s

        async def write(chunk: bytes) -> None:
            with anyio.fail_after(write_timeout_s):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

        try:
            with anyio.fail_after(settings.max_export_duration_s or None) as deadline:
                await pump(write)
                # Give the slot back before the client can see the end: a client that starts
                # its next export the moment this one ends must not find its own slot taken.
                slot.release()
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            self.outcome = "completed"
        except TimeoutError as exc:
            if deadline.cancel_called:
                self.outcome = "failed"
                self.failure = ExportTooLong(
                    f"exceeded the maximum export duration of {settings.max_export_duration_s:g} s"
                )
            else:
                self.outcome = "client_too_slow"
                self.failure = exc
        except OSError:
            # The server could not write: the client is gone.
            self.outcome = "client_disconnected"
        except Exception as exc:
            # Returning without finishing the body makes the server close the connection with
            # the chunked body unterminated: the client sees a truncated transfer.
            self.outcome = "failed"
            self.failure = exc

    async def _cancel_on_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                if self.outcome in ("not_started", "streaming"):
                    self.outcome = "client_disconnected"
                scope.cancel()
                return

    def _log_outcome(self, duration_s: float) -> None:
        export = self.request.export.name
        fields = {
            "key_id": self.api_key.key_id if self.api_key else None,
            "export": export,
            "format": self.output.name,
            "rows": self.stats.rows,
            "bytes": self.stats.bytes,
            "duration_s": round(duration_s, 3),
            "outcome": self.outcome,
        }
        if self.outcome in ("failed", "cancelled", "client_too_slow"):
            log.error(
                "export %s aborted after %d rows (%s): %s",
                export,
                self.stats.rows,
                self.outcome,
                self.failure or "server shutting down",
                extra=fields,
                exc_info=self.failure if self.outcome == "failed" else None,
            )
        elif self.outcome == "rejected":
            log.info("export %s rejected: %s", export, self.failure, extra=fields)
        else:
            log.info("export %s %s: %d rows", export, self.outcome, self.stats.rows, extra=fields)
