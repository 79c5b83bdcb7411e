"""A TCP proxy in a thread, to make PostgreSQL disappear and come back on demand.

It forwards to a TCP server or to a Unix socket alike, so the embedded PostgreSQL (which
listens on a socket only) gets a TCP front too.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.support.database_urls import Endpoint


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server; ``stop()`` cuts every connection."""

    def __init__(self, target: Endpoint) -> None:
        self.target = target
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=5)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.target.socket_path:
                opened = await asyncio.open_unix_connection(self.target.socket_path)
            else:
                opened = await asyncio.open_connection(self.target.host, self.target.port)
            upstream_reader, upstream_writer = opened
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers.difference_update((writer, upstream_writer))
