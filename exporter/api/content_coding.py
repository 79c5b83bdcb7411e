"""Content-Encoding: a pure ASGI middleware that compresses responses chunk by chunk.

Every body message is compressed and flushed on its own, so what the client has received always
decodes to everything sent so far: streaming and the time to the first row survive compression.
Only the last message (``more_body`` false) ends the compressed stream. An export that fails
mid-stream returns without that message; then nothing more is sent either, and the client
still sees a truncated transfer instead of a compressed stream that looks complete.

What is compressed: an export response whose route chose a coding (``choose_response_coding``)
and a JSON response of at least ``json_min_bytes`` (the catalog, the OpenAPI document), never a
health check, a response that has a Content-Encoding already, or one whose status is not 200
(206 and 304 must not change their bytes). Not a ``BaseHTTPMiddleware``: that one runs the
endpoint in a task behind a queue, which breaks backpressure on streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exporter.api.negotiation import choose_coding
from exporter.compression import CODECS, Compressor
from exporter.errors import UnacceptableEncoding

#: Body messages at least this big are compressed in a worker thread. Measured here on export
#: CSV: gzip 1 takes 1.4 ms per 256 KiB chunk (brotli 4: 2.2 ms, zstd 3: 0.8 ms), and a chunk
#: can be 16 MiB (~90 ms): too long to hold the event loop. All three release the GIL, so a
#: second core compresses in parallel. A thread hop costs ~0.1 ms, about what gzip needs for
#: 32 KiB: below 64 KiB compressing inline is cheaper than the hop.
OFFLOAD_MIN_BYTES = 64 * 1024
#: Probes must stay cheap and readable whatever a client asks for.
_NEVER_COMPRESSED_PATHS = frozenset({"/healthz", "/readyz"})
_SCOPE_KEY = "exporter.content_coding"


@dataclass(slots=True)
class _Choice:
    """One request's negotiation, shared between the middleware and the route."""

    accept_encoding: str | None
    offered: tuple[str, ...]
    #: Set by the route of a compressible response; then ``coding`` is what it chose.
    decided: bool = False
    coding: str | None = None


def choose_response_coding(request: Request, *, wanted: bool) -> str | None:
    """Choose the coding of this request's response and have the middleware apply it.

    ``wanted``: compress when the client allows it (else only when it refuses identity). Raises
    ``UnacceptableEncoding`` (406) before anything is sent. Returns the coding (None: as is).
    """
    choice: _Choice | None = request.scope.get(_SCOPE_KEY)
    if choice is None:  # the middleware is not installed
        return None
    choice.coding = choose_coding(choice.accept_encoding, choice.offered, wanted=wanted)
    choice.decided = True
    return choice.coding


class CompressionMiddleware:
    """Compresses responses as they stream, in the coding negotiated from Accept-Encoding."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        offered: Sequence[str],
        json_min_bytes: int,
        threads: int,
    ) -> None:
        self.app = app
        self.offered = tuple(offered)
        self.json_min_bytes = json_min_bytes
        self.limiter = anyio.CapacityLimiter(threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        choice = _Choice(Headers(scope=scope).get("accept-encoding"), self.offered)
        scope = {**scope, _SCOPE_KEY: choice}
        responder = _CompressingSender(self, scope, choice, send)
        await self.app(scope, receive, responder.send)


class _CompressingSender:
    """The ``send`` the app gets: rewrites the start message, compresses the body messages."""

    def __init__(
        self, middleware: CompressionMiddleware, scope: Scope, choice: _Choice, send: Send
    ) -> None:
        self.middleware = middleware
        self.scope = scope
        self.choice = choice
        self.downstream = send
        self.compressor: Compressor | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self.downstream(self._start(message))
            return
        if message["type"] != "http.response.body" or self.compressor is None:
            await self.downstream(message)
            return
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        if more_body and not body:
            return
        step = partial(_compress_step, self.compressor, body, final=not more_body)
        if len(body) >= OFFLOAD_MIN_BYTES:
            data = await anyio.to_thread.run_sync(step, limiter=self.middleware.limiter)
        else:
            data = step()
        if more_body and not data:
            return
        await self.downstream({"type": "http.response.body", "body": data, "more_body": more_body})

    def _start(self, message: Message) -> Message:
        headers = MutableHeaders(raw=list(message.get("headers", [])))
        candidate, coding = self._coding_for(message["status"], headers)
        if candidate:
            # Even when sent as is: another Accept-Encoding would have got other bytes.
            headers.add_vary_header("Accept-Encoding")
        if coding is not None:
            headers["Content-Encoding"] = coding
            if "content-length" in headers:
                del headers["content-length"]
            self.compressor = CODECS[coding].create()
        return {**message, "headers": headers.raw}

    def _coding_for(self, status: int, headers: MutableHeaders) -> tuple[bool, str | None]:
        """Whether the response is one we compress, and its coding (None: as it is)."""
        if status != 200 or "content-encoding" in headers:
            return False, None
        if self.choice.decided:
            return True, self.choice.coding
        if not self._is_large_json(headers) or self.scope["path"] in _NEVER_COMPRESSED_PATHS:
            return False, None
        try:
            return True, choose_coding(self.choice.accept_encoding, self.choice.offered)
        except UnacceptableEncoding:
            return True, None  # RFC 9110 allows ignoring it; only exports answer 406

    def _is_large_json(self, headers: MutableHeaders) -> bool:
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        length = headers.get("content-length", "")
        return (
            media_type == "application/json"
            and length.isdigit()
            and int(length) >= self.middleware.json_min_bytes
        )


def _compress_step(compressor: Compressor, body: bytes, *, final: bool) -> bytes:
    """``body`` compressed, then flushed (decodable at once) or, if ``final``, finished."""
    return compressor.compress(body) + (compressor.finish() if final else compressor.flush())
