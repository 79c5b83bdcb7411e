"""Run as a separate process: GET /healthz every 100 ms until stdin closes; print latencies.

A separate process, so that the latency measured is the server's, not the GIL contention of
the test process's own client threads."""

from __future__ import annotations

import sys
import threading
import time

import httpx


def main(base_url: str) -> None:
    stop = threading.Event()

    def stop_at_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=stop_at_eof, daemon=True).start()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while not stop.is_set():
            started = time.monotonic()
            client.get("/healthz").raise_for_status()
            print(f"{time.monotonic() - started:.6f}", flush=True)
            time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1])
