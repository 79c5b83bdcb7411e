"""The ADBC reference worker: the same query fetched to Arrow record batches, in-process.

The best existing library path from PostgreSQL to Arrow (``adbc-driver-postgresql`` reads the
result with ``COPY ... (FORMAT binary)``). It runs as its own process so its memory and CPU are
measured like the server's: ``python -m benchmarks.harness.adbc_fetch URL SQL_FILE`` imports and
connects, prints ``ready``, then for each line on standard input fetches every batch (keeping
none, as a streaming consumer would) and prints its counts and timings as one JSON line. It
disconnects when its standard input closes: its backend lives as long as it, like a pool's.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness.queries import read_query


def main(argv: list[str]) -> int:
    import adbc_driver_postgresql.dbapi as adbc  # type: ignore[import-untyped]

    url, sql_file = argv[0], Path(argv[1])
    query = read_query(sql_file)
    with adbc.connect(url) as conn:
        print("ready", flush=True)
        for _ in sys.stdin:
            print(json.dumps(fetch_all(conn, query)), flush=True)
    return 0


def fetch_all(conn: Any, query: str) -> dict[str, Any]:
    """Run ``query`` and read every record batch, keeping none; counts and timings."""
    cursor = conn.cursor()
    started_s = time.perf_counter()
    first_batch_s = 0.0
    rows = batches = arrow_bytes = 0
    try:
        cursor.execute(query)
        for batch in cursor.fetch_record_batch():
            if not batches:
                first_batch_s = time.perf_counter() - started_s
            batches += 1
            rows += batch.num_rows
            arrow_bytes += batch.nbytes
    finally:
        cursor.close()
    return {
        "rows": rows,
        "batches": batches,
        "arrow_bytes": arrow_bytes,
        "first_batch_s": first_batch_s,
        "total_s": time.perf_counter() - started_s,
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
