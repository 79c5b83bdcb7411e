"""The ``/healthz`` prober: one request every ``interval_s`` while an export runs.

A slow answer means the server's event loop was stalled (by encoding on the loop, a blocking
call, a huge write). It runs as its own process, so the harness's threads (sampler, clients)
cannot delay it through the GIL and make the server look slower than it is.

Protocol: ``python -m benchmarks.harness.prober URL INTERVAL_S`` prints ``ready``, probes until
its standard input closes, then prints the latencies (seconds) as one JSON list.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def probe(url: str, interval_s: float, stop: threading.Event) -> list[float]:
    """Latencies of ``GET url`` sent every ``interval_s`` until ``stop`` is set.

    A request that takes longer than the interval delays the next one (one at a time, on one
    kept-alive connection, as a load balancer's health check does); missed slots are skipped.
    """
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60.0)
    latencies: list[float] = []
    next_s = time.perf_counter()
    try:
        while not stop.is_set():
            started_s = time.perf_counter()
            try:
                conn.request("GET", parts.path)
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                conn.close()  # reconnects on the next request
                latencies.append(float("inf"))
            else:
                latencies.append(time.perf_counter() - started_s)
            next_s += interval_s
            now_s = time.perf_counter()
            next_s = max(next_s, now_s)
            stop.wait(next_s - now_s)
    finally:
        conn.close()
    return latencies


def main(argv: list[str]) -> int:
    url, interval_s = argv[0], float(argv[1])
    stop = threading.Event()
    result: list[float] = []
    worker = threading.Thread(target=lambda: result.extend(probe(url, interval_s, stop)))
    worker.start()
    print("ready", flush=True)
    sys.stdin.read()  # returns when the harness closes our stdin
    stop.set()
    worker.join()
    # inf (a failed probe) is not JSON: report it as null.
    print(json.dumps([x if x != float("inf") else None for x in result]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
