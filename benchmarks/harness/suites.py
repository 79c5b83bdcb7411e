"""The suites: which points a plan measures, and the processes each point runs against.

- ``headline``: every format as a plain request gets it (no fetch_rows/chunk_bytes: the
  server's defaults, so every format takes the COPY path) on the big data set, next to psql's
  COPY, the naive endpoint and ADBC.
- ``sweep``: fetch_rows swept at the default chunk_bytes (a request that sets fetch_rows takes
  the cursor path, every format), and chunk_bytes swept on the default path (no
  fetch_rows): two lines, not the full grid, on a smaller data set.
- ``concurrency``: 1..64 clients downloading at once, plain requests.
- ``compression``: CSV and NDJSON as plain requests with each content coding in
  Accept-Encoding (identity as the baseline), read and decoded by the client, on the sweep's
  data set.

psql's COPY is measured once per data set (suite ``reference``): every rate is reported as a
ratio to it.
"""

from __future__ import annotations

import functools
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from benchmarks.harness import sampling
from benchmarks.harness.client import Transfer, download, download_concurrently
from benchmarks.harness.measure import Case, Outcome, RetryBudget, Subject, measure_point
from benchmarks.harness.plan import COMPRESSED_FORMATS, DEFAULT_CHUNK_BYTES, Plan
from benchmarks.harness.queries import EXPORT_NAME, WARMUP_EXPORT_NAME, read_query
from benchmarks.harness.references import PSQL, AdbcWorker, run_psql_copy
from benchmarks.harness.server import ServerProcess, ServerSpec, exporter_spec, naive_spec

Save = Callable[[dict[str, Any]], None]
Log = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """Everything the suites share for one benchmark run."""

    plan: Plan
    #: The export file under test, and the catalog directory served (it plus its warm-up).
    export_sql: Path
    catalog_dir: Path
    #: Data set size -> URL of its database.
    datasets: dict[int, str]
    #: Where the servers' and workers' output goes.
    log_file: IO[bytes]
    #: Unique per benchmark run: part of every application_name.
    run_id: str
    save: Save
    log: Log
    #: Seconds left for replacing disturbed runs, shared by every point.
    retry_budget: RetryBudget
    #: Servers kept across points when ``Plan.fresh_server_per_point`` is off.
    shared_servers: dict[str, tuple[ServerProcess, int]] = field(default_factory=dict)

    def database_url(self, rows: int) -> str:
        return self.datasets[rows]


def run_suites(ctx: Context) -> list[dict[str, Any]]:
    """Every point of ``ctx.plan``, in order; returns all records (kept or not)."""
    records: list[dict[str, Any]] = []
    plan = ctx.plan
    for rows in plan.dataset_sizes():
        ctx.log(f"warming the page cache: {rows:,} rows")
        warm_page_cache(ctx.database_url(rows), ctx.export_sql)
        records += _measure(
            ctx,
            Case(suite="reference", target="psql", format="csv", rows=rows),
            psql_subject(ctx, rows),
        )
    if "headline" in plan.suites:
        records += headline(ctx)
    if "sweep" in plan.suites:
        records += sweep(ctx)
    if "concurrency" in plan.suites:
        records += concurrency(ctx)
    if "compression" in plan.suites:
        records += compression(ctx)
    return records


def headline(ctx: Context) -> list[dict[str, Any]]:
    plan, rows = ctx.plan, ctx.plan.rows
    ctx.log(f"headline: {rows:,} rows")
    records: list[dict[str, Any]] = []
    for fmt in plan.formats:
        case = Case(suite="headline", target="exporter", format=fmt, rows=rows)
        records += _exporter_point(ctx, case)
    if "naive" in plan.references:
        case = Case(suite="headline", target="naive", format="json", rows=rows)
        with _serve(
            ctx,
            naive_spec(
                database_url=ctx.database_url(rows),
                sql_file=ctx.export_sql,
                application_name=f"bench-naive-{ctx.run_id}",
            ),
            warm_up=False,
        ) as (server, idle):
            subject = Subject(
                run=lambda: _http(f"{server.base_url}/export", 1),
                database=_database_name(ctx.database_url(rows)),
                server_pid=server.pid,
                idle_rss_bytes=idle,
                health_url=f"{server.base_url}/healthz",
            )
            records += _measure(ctx, case, subject)
    if "adbc" in plan.references:
        case = Case(suite="headline", target="adbc", format="arrow", rows=rows)
        worker = AdbcWorker.start(
            ctx.database_url(rows),
            ctx.export_sql,
            application_name=f"bench-adbc-{ctx.run_id}",
            log=ctx.log_file,
        )
        try:
            subject = Subject(
                run=lambda: _adbc(worker, rows),
                database=_database_name(ctx.database_url(rows)),
                server_pid=worker.pid,
                idle_rss_bytes=sampling.rss_bytes(worker.pid),
            )
            records += _measure(ctx, case, subject)
        finally:
            worker.close()
    return records


def sweep(ctx: Context) -> list[dict[str, Any]]:
    plan, rows = ctx.plan, ctx.plan.sweep_rows
    points: list[tuple[int | None, int | None]] = [
        (f, DEFAULT_CHUNK_BYTES) for f in plan.fetch_rows_points
    ]
    points += [(None, c) for c in plan.chunk_bytes_points]
    ctx.log(f"sweep: {len(points)} points per format, {rows:,} rows")
    records: list[dict[str, Any]] = []
    for fmt in plan.formats:
        for fetch_rows, chunk_bytes in points:
            case = Case(
                suite="sweep",
                target="exporter",
                format=fmt,
                rows=rows,
                fetch_rows=fetch_rows,
                chunk_bytes=chunk_bytes,
            )
            records += _exporter_point(ctx, case)
    return records


def concurrency(ctx: Context) -> list[dict[str, Any]]:
    plan, rows = ctx.plan, ctx.plan.concurrency_rows
    ctx.log(f"concurrency: {plan.concurrency_levels} clients, {rows:,} rows each")
    records: list[dict[str, Any]] = []
    for fmt in plan.formats:
        for clients in plan.concurrency_levels:
            case = Case(
                suite="concurrency",
                target="exporter",
                format=fmt,
                rows=rows,
                clients=clients,
            )
            records += _exporter_point(ctx, case)
    return records


def compression(ctx: Context) -> list[dict[str, Any]]:
    plan, rows = ctx.plan, ctx.plan.sweep_rows
    formats = [f for f in plan.formats if f in COMPRESSED_FORMATS]
    ctx.log(f"compression: {', '.join(plan.codings)} on {', '.join(formats)}, {rows:,} rows")
    records: list[dict[str, Any]] = []
    for fmt in formats:
        for coding in plan.codings:
            case = Case(suite="compression", target="exporter", format=fmt, rows=rows,
                        coding=coding)  # fmt: skip
            records += _exporter_point(ctx, case)
    return records


def psql_subject(ctx: Context, rows: int) -> Subject:
    url = ctx.database_url(rows)
    name = f"bench-psql-{ctx.run_id}"

    def run() -> Outcome:
        transfer = run_psql_copy(url, ctx.export_sql, application_name=name)
        return Outcome(transfers=[transfer], wall_s=transfer.total_s)

    return Subject(run=run, database=_database_name(url))


def warm_page_cache(database_url: str, export_sql: Path) -> None:
    """Scan the query's tables once, untimed, so no run pays for the first read from disk.

    ``count(*)`` reads every page without formatting a row: seconds instead of a minute.
    """
    command = f"SELECT count(*) FROM ({read_query(export_sql)}) AS q"
    subprocess.run(
        [PSQL, "-X", "-q", "-d", database_url, "-c", command], stdout=subprocess.DEVNULL, check=True
    )


# -- servers -----------------------------------------------------------------------------------


def exporter_server_spec(ctx: Context, database_url: str) -> ServerSpec:
    plan = ctx.plan
    return exporter_spec(
        database_url=database_url,
        sql_dir=ctx.catalog_dir,
        application_name=f"bench-exporter-{ctx.run_id}",
        settings={
            # The sweep goes past the service's request limits; the defaults stay untouched.
            "EXPORTER_FETCH_ROWS_MAX": str(plan.max_fetch_rows),
            "EXPORTER_CHUNK_BYTES_MAX": str(plan.max_chunk_bytes),
            # Every concurrent client gets a connection instead of a 503 (pool max 10).
            "EXPORTER_POOL_MAX_SIZE": str(max(10, plan.max_clients)),
            "EXPORTER_POOL_ACQUIRE_TIMEOUT": "120",
        },
    )


def close_shared_servers(ctx: Context) -> None:
    """Stop the servers kept across points (``Plan.fresh_server_per_point`` off)."""
    while ctx.shared_servers:
        _, (server, _) = ctx.shared_servers.popitem()
        server.stop()


def _exporter_point(ctx: Context, case: Case) -> list[dict[str, Any]]:
    """The point's runs; if its server dies under it (killed from outside), once more anew."""
    records: list[dict[str, Any]] = []
    lost: list[dict[str, Any]] = []  # runs cut short by the server's death: saved, not counted
    for start in (1, 2):
        url = ctx.database_url(case.rows)
        shared = not ctx.plan.fresh_server_per_point
        with _serve(ctx, exporter_server_spec(ctx, url), warm_up=True, shared=shared) as (
            server,
            idle,
        ):
            export_url = f"{server.base_url}/exports/{EXPORT_NAME}?{export_query(case)}"
            subject = Subject(
                run=functools.partial(_http, export_url, case.clients, coding=case.coding),
                database=_database_name(url),
                server_pid=server.pid,
                idle_rss_bytes=idle,
                health_url=f"{server.base_url}/healthz",
                alive=functools.partial(_alive, server),
            )
            records = _measure(ctx, case, subject, save=False, earlier=records)
            if subject.alive() or start == 2:
                break
        ctx.log(f"  {case.key}: server exited mid-point (see servers.log); with a new server")
        lost += [r for r in records if not r["ok"]]
        records = [r for r in records if r["ok"]]
    for record in lost + records:
        ctx.save(record)
    return lost + records


@contextmanager
def _serve(
    ctx: Context, spec: ServerSpec, *, warm_up: bool, shared: bool = False
) -> Iterator[tuple[ServerProcess, int]]:
    """A running server and its idle RSS (after the warm-up), fresh or shared."""
    key = f"{spec.name}:{spec.env.get('DATABASE_URL', spec.env.get('NAIVE_DATABASE_URL'))}"
    if shared and key in ctx.shared_servers:
        if ctx.shared_servers[key][0].process.poll() is None:
            yield ctx.shared_servers[key]
            return
        del ctx.shared_servers[key]  # it died: start another
    server = ServerProcess.start(spec, ctx.log_file)
    try:
        if warm_up:
            for fmt in ctx.plan.formats:
                transfer = download(f"{server.base_url}/exports/{WARMUP_EXPORT_NAME}?format={fmt}")
                if transfer.error:
                    raise RuntimeError(f"warm-up export failed ({fmt}): {transfer.error}")
        idle = sampling.rss_bytes(server.pid)
    except BaseException:
        server.stop()
        raise
    if shared:
        ctx.shared_servers[key] = (server, idle)
        yield server, idle
        return
    try:
        yield server, idle
    finally:
        server.stop()


def _measure(
    ctx: Context,
    case: Case,
    subject: Subject,
    *,
    save: bool = True,
    earlier: list[Any] | None = None,
) -> list[dict[str, Any]]:
    records = measure_point(
        case, subject, ctx.plan, retry_budget=ctx.retry_budget, log=ctx.log, earlier=earlier or []
    )
    if save:
        for record in records:
            ctx.save(record)
    return records


def export_query(case: Case) -> str:
    """The request's query string: parameters left out are the server's defaults."""
    query = f"format={case.format}"
    if case.fetch_rows is not None:
        query += f"&fetch_rows={case.fetch_rows}"
    if case.chunk_bytes is not None:
        query += f"&chunk_bytes={case.chunk_bytes}"
    return query


def _alive(server: ServerProcess) -> bool:
    return server.process.poll() is None


def _http(url: str, clients: int, *, coding: str | None = None) -> Outcome:
    asked = None if coding == "identity" else coding  # http.client asks for identity itself
    if clients == 1:
        transfer = download(url, coding=asked)
        return Outcome(transfers=[transfer], wall_s=transfer.total_s)
    started_s = time.perf_counter()
    transfers = download_concurrently(url, clients, coding=asked)
    return Outcome(transfers=transfers, wall_s=time.perf_counter() - started_s)


def _adbc(worker: AdbcWorker, rows: int) -> Outcome:
    transfer, result = worker.fetch()
    if result and result["rows"] != rows:
        transfer = Transfer(**{**_fields(transfer), "error": f"{result['rows']} rows, not {rows}"})
    return Outcome(transfers=[transfer], wall_s=transfer.total_s, extra=result)


def _fields(transfer: Transfer) -> dict[str, Any]:
    return {name: getattr(transfer, name) for name in Transfer.__dataclass_fields__}


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?", 1)[0]
