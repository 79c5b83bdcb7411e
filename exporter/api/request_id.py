"""Request ids: take the client's ``X-Request-ID`` or make one, echo it, and log with it.

Pure ASGI, not ``BaseHTTPMiddleware``: that one runs the app in a separate task and buffers
through a memory stream, which breaks streaming backpressure and disconnect detection.
"""

from __future__ import annotations

import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exporter.observability.logs import REQUEST_ID

HEADER = "X-Request-ID"
#: Longest client-given id accepted; a longer one is replaced, not cut (it would not match).
MAX_REQUEST_ID_CHARS = 128
#: ``scope["state"]`` keys: the request id, and when the request arrived (time.monotonic()).
STATE_REQUEST_ID = "request_id"
STATE_STARTED_S = "request_started_s"


def accept_request_id(given: str | None) -> str:
    """``given`` if it is 1-128 printable ASCII characters, else a new uuid4 hex id.

    Anything else could forge log lines (line breaks, control characters) or bloat them.
    """
    if given and len(given) <= MAX_REQUEST_ID_CHARS and all(" " <= c <= "~" for c in given):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each HTTP request an id: in ``scope["state"]``, the logs and the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = accept_request_id(given)
        state = scope.setdefault("state", {})
        state[STATE_REQUEST_ID] = request_id
        state[STATE_STARTED_S] = time.monotonic()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
