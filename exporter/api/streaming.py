"""The streaming export response: a pure ASGI response that owns the export's whole life.

It opens the export (connection, PREPARE, bind) before sending anything, so those failures
are still proper problem+json answers. Once the status is out, a failure aborts the connection
(the chunked body is never terminated, so clients see an incomplete transfer) and is logged;
nothing is ever appended to the body. A watcher on ``receive`` cancels everything the moment
the client leaves, whether the export is waiting for a connection, on PostgreSQL or on the
socket; the connection is released in the service's ``finally``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import anyio
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from exporter.access.keys import ApiKey
from exporter.access.limits import Slot
from exporter.api.problems import response_for_error
from exporter.api.request_id import STATE_REQUEST_ID, STATE_STARTED_S
from exporter.catalog.definitions import Catalog
from exporter.catalog.params import ExportRequest, loggable_params, secret_values
from exporter.encoders import FORMATS, Format
from exporter.errors import Cause, ExporterError
from exporter.export.pipeline import StreamStats
from exporter.export.pumps import Pump
from exporter.export.service import ExportService
from exporter.export.watermarks import WATERMARK_HEADER
from exporter.observability.logs import REQUEST_ID
from exporter.observability.metrics import ExportMeter, ExportMetrics
from exporter.observability.outcomes import (
    ExportRecord,
    Outcome,
    failure_cause,
    log_export,
    refusal,
)

#: Longest export name a log line repeats from a request (an unknown one is client-chosen).
LOGGED_NAME_CHARS = 200


class ExportTooLong(Exception):
    """The export ran past ``max_export_duration_s``."""


class _ClientGone(Exception):
    """The server could not write to the client: it is gone."""


class _ClientTooSlow(Exception):
    """The client did not accept a chunk within ``client_write_timeout_s``."""


class ExportResponse(Response):
    """Streams one export; cleans up on completion, failure, disconnect and shutdown.

    A ``Response`` subclass only so that FastAPI passes it through untouched; it shares none of
    ``Response``'s body handling. It logs the export's one line and feeds its metrics.
    """

    def __init__(
        self,
        service: ExportService,
        request: ExportRequest,
        output: Format,
        headers: dict[str, str],
        *,
        metrics: ExportMetrics,
        api_key: ApiKey | None = None,
    ) -> None:
        self.service = service
        self.api_key = api_key
        self.request = request
        self.output = output
        self.export_headers = headers
        self.metrics = metrics
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.stats = StreamStats()
        #: not_started -> streaming -> completed | failed | client_disconnected |
        #: client_too_slow | rejected | cancelled (server shutting down)
        self.outcome = Outcome.NOT_STARTED
        self.cause: Cause | None = None
        self.failure: BaseException | None = None
        #: The status sent, once sent.
        self.status: int | None = None
        self.sent_bytes = 0
        self.ttfb_s: float | None = None
        self.started_s = time.monotonic()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started_s = request_started_s(scope, self.started_s)
        meter = self.metrics.meter(self.request.export.name, self.output.name)
        meter.started()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._cancel_on_disconnect, receive, group.cancel_scope)
                await self._respond(scope, receive, send, meter)
                group.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            if not self.outcome.ended:
                self.outcome, self.cause = Outcome.CANCELLED, Cause.SHUTDOWN
            raise
        except Exception as exc:
            if not self.outcome.ended:
                self.outcome, self.cause = Outcome.FAILED, failure_cause(exc)
                self.failure = exc
            raise
        finally:
            self._finish(scope, meter, time.monotonic() - self.started_s)

    async def _respond(
        self, scope: Scope, receive: Receive, send: Send, meter: ExportMeter
    ) -> None:
        try:
            # The slot is taken here, inside the response, so that the `with` gives it back
            # on every ending: completion, failure, disconnect (cancellation) and shutdown.
            with self.service.take_export_slot(self.api_key) as slot:
                async with self.service.open_stream(self.request, self.output, self.stats) as pump:
                    await self._stream(pump, send, meter, slot)
        except ExporterError as exc:
            if self.outcome != Outcome.NOT_STARTED:
                raise
            self.outcome, self.cause = refusal(exc)
            self.failure = exc
            response = response_for_error(exc)
            self.status = response.status_code
            await response(scope, receive, send)

    async def _stream(self, pump: Pump, send: Send, meter: ExportMeter, slot: Slot) -> None:
        settings = self.service.settings
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (key.lower().encode(), value.encode())
                    for key, value in self._response_headers().items()
                ],
            }
        )
        self.status = 200
        self.outcome = Outcome.STREAMING
        write_timeout_s = settings.client_write_timeout_s

        async def write(chunk: bytes, *, more: bool = True) -> None:
            try:
                with anyio.fail_after(write_timeout_s):
                    await send({"type": "http.response.body", "body": chunk, "more_body": more})
            except TimeoutError as exc:  # an OSError too: catch it first
                raise _ClientTooSlow from exc
            except OSError as exc:
                raise _ClientGone from exc
            if self.ttfb_s is None:
                self.ttfb_s = time.monotonic() - self.started_s
                meter.first_byte(self.ttfb_s)
            self.sent_bytes += len(chunk)
            meter.sent(len(chunk))

        try:
            with anyio.fail_after(settings.max_export_duration_s or None) as deadline:
                await pump(write)
                # Give the slot back before the client can see the end: a client that starts
                # its next export the moment this one ends must not find its own slot taken.
                slot.release()
                await write(b"", more=False)
            self.outcome = Outcome.COMPLETED
        except _ClientTooSlow:
            self.outcome = Outcome.CLIENT_TOO_SLOW
            self.failure = TimeoutError(
                f"the client accepted no chunk within {write_timeout_s:g} s"
            )
        except TimeoutError as exc:
            self.outcome, self.cause = Outcome.FAILED, Cause.TIMEOUT
            self.failure = exc
            if deadline.cancel_called:
                self.failure = ExportTooLong(
                    f"exceeded the maximum export duration of {settings.max_export_duration_s:g} s"
                )
        except _ClientGone:
            self.outcome = Outcome.CLIENT_DISCONNECTED
        except Exception as exc:
            # Returning without finishing the body makes the server close the connection with
            # the chunked body unterminated: the client sees a truncated transfer.
            self.outcome, self.cause = Outcome.FAILED, failure_cause(exc)
            self.failure = exc

    def _response_headers(self) -> dict[str, str]:
        """The export's headers, with an incremental export's watermark token (known now)."""
        if self.stats.watermark is None:
            return self.export_headers
        return {**self.export_headers, WATERMARK_HEADER: self.stats.watermark}

    async def _cancel_on_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                if not self.outcome.ended:
                    self.outcome = Outcome.CLIENT_DISCONNECTED
                scope.cancel()
                return

    def _finish(self, scope: Scope, meter: ExportMeter, duration_s: float) -> None:
        meter.ended(
            outcome=self.outcome,
            cause=self.cause,
            rows=self.stats.rows,
            duration_s=duration_s,
            responded=self.status == 200,
        )
        named = self.request.named_values
        record = ExportRecord(
            request_id=request_id_of(scope),
            key_id=key_id_of(scope),
            export=self.request.export.name,
            format=self.output.name,
            params=self.request.loggable_values(),
            status=self.status,
            rows=self.stats.rows,
            bytes=self.sent_bytes,
            duration_s=duration_s,
            ttfb_s=self.ttfb_s,
            outcome=self.outcome,
            cause=self.cause,
        )
        secrets = secret_values(self.request.export, named.items())
        log_export(record, self.failure, secrets=secrets)


class HeadersOnlyResponse(Response):
    """A stream's answer to HEAD: its status and headers, and no body.

    Not a plain ``Response``: that would say ``Content-Length: 0``, where the stream has no
    length (it is chunked). The server sends no body for HEAD whatever follows the headers.
    """

    def __init__(self, headers: dict[str, str]) -> None:
        self.status_code = 200
        self.export_headers = headers
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = [(key.lower().encode(), value.encode()) for key, value in self.export_headers.items()]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def refuse(
    scope: Scope,
    exc: ExporterError,
    *,
    metrics: ExportMetrics,
    catalog: Catalog,
    export_name: str,
    items: Iterable[tuple[str, str]],
) -> Response:
    """The answer to an export request refused before it ran; logged and counted like one."""
    items = list(items)
    export = catalog.get(export_name)
    format_name = next((value for name, value in items if name == "format"), None)
    if format_name not in FORMATS:
        format_name = None  # an unusable value stays out of labels and logs
    outcome, cause = refusal(exc)
    response = response_for_error(exc)
    record = ExportRecord(
        request_id=request_id_of(scope),
        key_id=key_id_of(scope),
        export=export_name[:LOGGED_NAME_CHARS],
        format=format_name,
        params=loggable_params(export, items),
        status=response.status_code,
        duration_s=time.monotonic() - request_started_s(scope, time.monotonic()),
        outcome=outcome,
        cause=cause,
    )
    metrics.count_outcome("" if export is None else export.name, format_name or "", outcome, cause)
    secrets = [] if export is None else secret_values(export, items)
    log_export(record, exc, secrets=secrets)
    return response


def request_id_of(scope: Scope) -> str | None:
    """The id the request-id middleware gave this request."""
    state: dict[str, Any] = scope.get("state", {})
    return state.get(STATE_REQUEST_ID) or REQUEST_ID.get()


def request_started_s(scope: Scope, default_s: float) -> float:
    """When the request arrived (``time.monotonic()``), as the middleware noted it."""
    started_s: float = scope.get("state", {}).get(STATE_STARTED_S, default_s)
    return started_s


def key_id_of(scope: Scope) -> str | None:
    """The id of the API key that authenticated the request, once authentication sets one.

    Authentication puts the key in ``scope["state"]["api_key"]``; only its ``key_id`` is
    ever logged.
    """
    api_key = scope.get("state", {}).get("api_key")
    key_id = getattr(api_key, "key_id", None)
    return None if key_id is None else str(key_id)
