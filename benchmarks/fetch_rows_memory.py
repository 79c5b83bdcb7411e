"""Memory of tiny-batch Parquet exports: RSS of ``exporter serve`` while N concurrent
``fetch_rows=F`` Parquet exports of ``orders_stream`` run, and after they end.

Issue 19, finding 1: one-row batches made a Parquet export hold ~750 MB until its row group
filled. Run ``.venv/bin/python -m benchmarks.fetch_rows_memory --rows 150000`` (defaults to the
local PostgreSQL); it prints idle, peak and after-RSS in MiB. Memory belongs here, not in a
timed test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import urllib.request

import psutil

from benchmarks.harness.dataset import ensure_dataset
from benchmarks.harness.server import ROOT, ServerProcess, exporter_spec

MIB = 1024 * 1024


def _download(url: str, results: list[int]) -> None:
    total = 0
    with urllib.request.urlopen(url, timeout=600) as response:
        while chunk := response.read(MIB):
            total += len(chunk)
    results.append(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--fetch-rows", type=int, default=1)
    parser.add_argument("--format", default="parquet")
    parser.add_argument("--setting", action="append", default=[], help="EXPORTER_X=value")
    args = parser.parse_args()
    url = ensure_dataset(args.database_url, ROOT / "sql" / "demo" / "schema.sql", args.rows)
    settings = dict(item.split("=", 1) for item in args.setting)
    settings.setdefault("EXPORTER_JOBS_CONCURRENCY", "0")
    spec = exporter_spec(
        database_url=url,
        sql_dir=ROOT / "sql" / "exports",
        application_name="exporter-fetch-rows-memory",
        settings=settings,
    )
    with tempfile.TemporaryFile() as log, ServerProcess.start(spec, log) as server:
        proc = psutil.Process(server.pid)
        export_url = (
            f"{server.base_url}/exports/orders_stream?format={args.format}"
            f"&fetch_rows={args.fetch_rows}"
        )
        warm: list[int] = []
        _download(f"{server.base_url}/exports/orders_stream?format={args.format}"
                  "&fetch_rows=100", warm)  # fmt: skip
        idle = proc.memory_info().rss
        results: list[int] = []
        threads = [
            threading.Thread(target=_download, args=(export_url, results))
            for _ in range(args.clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        peak = idle
        while any(thread.is_alive() for thread in threads):
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        time.sleep(2)
        after = proc.memory_info().rss
        if len(results) != args.clients:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise SystemExit("a download failed")
    print(
        f"{args.clients} x {args.format} fetch_rows={args.fetch_rows} on {args.rows:,} rows "
        f"({', '.join(settings)}): idle {idle / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, "
        f"after {after / MIB:.0f} MiB, {elapsed:.1f} s, {results[0]:,} bytes each"
    )


if __name__ == "__main__":
    main()
