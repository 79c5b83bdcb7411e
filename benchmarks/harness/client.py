"""The HTTP client: reads an export to its end over a real socket and times it.

Plain ``http.client`` on blocking sockets, one thread per download: it decodes the chunked
body and nothing else, so the client's own CPU stays small and is measured (per thread), and a
truncated transfer (the server aborting) raises instead of passing as a short result. Asked
for a content coding, it decodes the body as it arrives, as a real client would (that CPU is
the client's), and a compressed stream without its end marker is a failed transfer too.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.support.decoders import Decoder

#: Bytes asked of the socket per read: large, so a big chunk costs few Python calls.
READ_BYTES = 1 << 20
#: Body bytes that mean rows have arrived, past any preamble (a CSV header line, Parquet's
#: 4-byte magic). The first byte alone can be that preamble, sent before any row is fetched.
FIRST_DATA_BYTES = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """One download, timed from the moment the request was sent."""

    status: int
    #: Seconds until the response headers were in.
    headers_s: float
    #: Seconds until the first body byte was in (the end of the body when it is empty).
    first_byte_s: float
    #: Seconds until FIRST_DATA_BYTES of body were in (the end of the body if it is shorter).
    first_data_s: float
    total_s: float
    bytes: int
    #: CPU seconds this client thread used (user + system).
    cpu_s: float
    #: The body's size after decoding its content coding; None: it had none (``bytes``).
    decoded_bytes: int | None = None
    #: None when the body was read to its proper end; else why not.
    error: str | None = None


def download(url: str, *, coding: str | None = None, timeout_s: float = 600.0) -> Transfer:
    """GET ``url`` and read the body to the end; never raises for HTTP or transfer errors.

    ``coding``: ask for it in ``Accept-Encoding`` (else http.client's ``identity``) and decode.
    """
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    cpu_start_s = time.thread_time()
    started_s = time.perf_counter()
    headers_s = first_byte_s = first_data_s = 0.0
    received = 0
    status = 0
    error: str | None = None
    decoder: Decoder | None = None
    decoded_bytes = 0
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout_s)
    try:
        conn.request("GET", target, headers={"Accept-Encoding": coding} if coding else {})
        response = conn.getresponse()
        status = response.status
        headers_s = time.perf_counter() - started_s
        sent_coding = response.getheader("Content-Encoding")
        if coding and status == 200:
            if sent_coding != coding:
                raise http.client.HTTPException(f"asked for {coding}, got {sent_coding}")
            decoder = Decoder(coding)
        while True:
            data = response.read1(READ_BYTES)
            if not data:
                break
            if not received:
                first_byte_s = time.perf_counter() - started_s
            if received < FIRST_DATA_BYTES <= received + len(data):
                first_data_s = time.perf_counter() - started_s
            received += len(data)
            if decoder is not None:
                decoded_bytes += len(decoder.decode(data))
        if status != 200:
            error = f"HTTP {status}"
        elif decoder is not None and not decoder.finished:
            error = f"the {coding} stream has no end"
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    total_s = time.perf_counter() - started_s
    return Transfer(
        status=status,
        headers_s=headers_s,
        first_byte_s=first_byte_s if received else total_s,
        first_data_s=first_data_s if received >= FIRST_DATA_BYTES else total_s,
        total_s=total_s,
        bytes=received,
        cpu_s=time.thread_time() - cpu_start_s,
        decoded_bytes=decoded_bytes if decoder is not None else None,
        error=error,
    )


def download_concurrently(
    url: str, clients: int, *, coding: str | None = None, timeout_s: float = 600.0
) -> list[Transfer]:
    """``clients`` simultaneous downloads of ``url``, released together by a barrier."""
    results: list[Transfer | None] = [None] * clients
    barrier = threading.Barrier(clients)

    def one(index: int) -> None:
        barrier.wait()
        results[index] = download(url, coding=coding, timeout_s=timeout_s)

    threads = [
        threading.Thread(target=one, args=(i,), name=f"client-{i}", daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]
