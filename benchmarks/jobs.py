"""A background job end to end: ``python -m benchmarks.jobs [--rows N] [--format F] ...``.

Starts ``exporter serve`` on the benchmark data set, submits one job for the benchmarked
export, waits for it, and reports the job's rows/s (its own started/finished times), the
server's peak RSS above idle (kernel high-water mark, reset after warm-up), and the file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.harness.dataset import ensure_dataset
from benchmarks.harness.queries import EXPORT_NAME, WARMUP_EXPORT_NAME, write_bench_catalog
from benchmarks.harness.sampling import peak_rss_bytes, reset_peak_rss, rss_bytes
from benchmarks.harness.server import ROOT, ServerProcess, exporter_spec

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jobs", description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--format", default="parquet")
    parser.add_argument("--compression", default="none")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args(argv)
    url = ensure_dataset(
        args.database_url or DEFAULT_SERVER_URL, ROOT / "sql" / "demo" / "schema.sql", args.rows
    )
    schema = f"bench_jobs_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="exporter-bench-jobs-") as scratch:
        work = Path(scratch)
        catalog = write_bench_catalog(ROOT / "sql" / "exports" / f"{EXPORT_NAME}.sql", work / "sql")
        spec = exporter_spec(
            database_url=url,
            sql_dir=catalog,
            application_name="exporter-bench-jobs",
            settings={
                "EXPORTER_JOBS_DIR": str(work / "jobs"),
                "EXPORTER_JOBS_SCHEMA": schema,
                "EXPORTER_JOBS_CONCURRENCY": "1",
            },
        )
        try:
            with (work / "server.log").open("wb") as log, ServerProcess.start(spec, log) as server:
                result = _run_job(server, args)
        finally:
            asyncio.run(_drop_schema(url, schema))
        print(json.dumps(result, indent=2))
    return 0


def _run_job(server: ServerProcess, args: argparse.Namespace) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        warm = client.post("/jobs", json={"export": WARMUP_EXPORT_NAME, "format": args.format})
        _wait(client, warm.json()["id"])
        idle_rss = rss_bytes(server.pid)
        reset_peak_rss(server.pid)
        body = {"export": EXPORT_NAME, "format": args.format, "compression": args.compression}
        job = _wait(client, client.post("/jobs", json=body).json()["id"])
    if job["state"] != "succeeded":
        print(f"job {job['state']}: {job['error']}", file=sys.stderr)
    seconds = (
        datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
    ).total_seconds()
    return {
        "rows": job["rows"],
        "format": args.format,
        "compression": args.compression,
        "seconds": round(seconds, 2),
        "rows_per_s": round(job["rows"] / seconds),
        "file_bytes": job["file"]["bytes"] if job["file"] else None,
        "idle_rss_mib": round(idle_rss / 2**20, 1),
        "peak_rss_above_idle_mib": round((peak_rss_bytes(server.pid) - idle_rss) / 2**20, 1),
    }


async def _drop_schema(url: str, schema: str) -> None:
    """The job table this run created goes with it; the data set stays for the next run."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _wait(client: httpx.Client, job_id: str) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
