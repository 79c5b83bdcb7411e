"""Run the benchmark suite: ``python -m benchmarks.run [--quick] [--rows N] ...``.

Writes ``benchmarks/results/<date>-<host>/`` (quick runs: ``benchmarks/results/quick/``):
``raw/`` (one JSON file per run), ``summary.json``, ``machine.json``, ``report.md``, the PNG
plots and ``servers.log`` (the output of every process under test).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.harness.dataset import ensure_dataset
from benchmarks.harness.machine import describe_machine
from benchmarks.harness.measure import RetryBudget
from benchmarks.harness.plan import (
    FORMATS,
    REFERENCES,
    SUITES,
    Plan,
    customize,
    full_plan,
    quick_plan,
)
from benchmarks.harness.plots import draw_all
from benchmarks.harness.queries import EXPORT_NAME, write_bench_catalog
from benchmarks.harness.report import render_report
from benchmarks.harness.server import ROOT
from benchmarks.harness.suites import Context, close_shared_servers, run_suites
from benchmarks.harness.summary import summarize

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS = ROOT / "benchmarks" / "results"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C: the servers and workers
    # started so far are stopped by their context managers instead of left running.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    plan = _plan_from(args)
    server_url = args.database_url or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_SERVER_URL
    out_dir = args.out or _default_out_dir(quick=args.quick)
    export_sql = ROOT / "sql" / "exports" / f"{EXPORT_NAME}.sql"
    schema_sql = ROOT / "sql" / "demo" / "schema.sql"
    for needed in (export_sql, schema_sql):
        if not needed.is_file():
            print(f"missing {needed.relative_to(ROOT)}: nothing to benchmark", file=sys.stderr)
            return 2

    started = datetime.now(UTC)
    started_s = time.monotonic()
    log = _logger(started_s)
    raw_dir = out_dir / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    for stale in raw_dir.glob("*.json"):  # a rerun into the same folder replaces, never mixes
        stale.unlink()
    log(f"results in {out_dir}")

    datasets = {}
    for rows in plan.dataset_sizes():
        log(f"data set: {rows:,} rows")
        datasets[rows] = ensure_dataset(server_url, schema_sql, rows)

    counter = iter(range(1, 1_000_000))

    def save(record: dict[str, Any]) -> None:
        path = raw_dir / f"{next(counter):04d}-{record['key']}-a{record['attempt']}.json"
        path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    with (
        tempfile.TemporaryDirectory(prefix="exporter-bench-") as tmp,
        (out_dir / "servers.log").open("wb") as log_file,
    ):
        ctx = Context(
            plan=plan,
            export_sql=export_sql,
            catalog_dir=write_bench_catalog(export_sql, Path(tmp) / "exports"),
            datasets=datasets,
            log_file=log_file,
            run_id=f"{os.getpid()}",
            save=save,
            log=log,
            retry_budget=RetryBudget(plan.retry_budget_s),
        )
        try:
            records = run_suites(ctx)
        finally:
            close_shared_servers(ctx)

    points = summarize(records)
    machine = describe_machine(next(iter(datasets.values())), ROOT)
    (out_dir / "summary.json").write_text(json.dumps(points, indent=1) + "\n", encoding="utf-8")
    (out_dir / "machine.json").write_text(json.dumps(machine, indent=1) + "\n", encoding="utf-8")
    log("plotting")
    plots = draw_all(points, out_dir)
    command = "python -m benchmarks.run " + shlex.join(argv if argv is not None else sys.argv[1:])
    report = render_report(
        points=points,
        machine=machine,
        plan=plan,
        command=command.strip(),
        started_at=started.isoformat(timespec="seconds"),
        duration_s=time.monotonic() - started_s,
        plots=plots,
    )
    (out_dir / "report.md").write_text(report, encoding="utf-8")
    missing = [p["key"] for p in points if p["runs"] == 0]
    log(f"done: {out_dir / 'report.md'}")
    if missing:
        log(f"no successful run at: {', '.join(missing)}")
        return 1
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the small version (seconds): proves the harness, not the speed",
    )
    parser.add_argument("--rows", type=int, help="rows of the headline data set (full: 5000000)")
    parser.add_argument(
        "--sweep-rows", type=int, help="rows of the sweep and compression data set (100000)"
    )
    parser.add_argument(
        "--concurrency-rows", type=int, help="rows each concurrent client reads (50000)"
    )
    parser.add_argument("--runs", type=int, help="kept runs per point (full: 3)")
    parser.add_argument(
        "--retries", type=int, help="extra attempts per point to replace disturbed runs (full: 3)"
    )
    parser.add_argument("--formats", type=_csv_list(FORMATS), help="e.g. csv,arrow (default: all)")
    parser.add_argument(
        "--suites", type=_csv_list(SUITES), help=f"some of {','.join(SUITES)} (default: all)"
    )
    parser.add_argument(
        "--references",
        type=_csv_list(REFERENCES),
        help=f"some of {','.join(REFERENCES)} next to the headline (default: all; psql's COPY"
        " is always measured: every rate is a ratio to it)",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server to use (its databases are created on it);"
        " default: BENCH_DATABASE_URL, else " + DEFAULT_SERVER_URL,
    )
    parser.add_argument("--out", type=Path, help="results folder (default: see above)")
    return parser


def _plan_from(args: argparse.Namespace) -> Plan:
    plan = quick_plan() if args.quick else full_plan()
    changes = {
        name: value
        for name in (
            "rows",
            "sweep_rows",
            "concurrency_rows",
            "runs",
            "retries",
            "formats",
            "suites",
            "references",
        )
        if (value := getattr(args, name)) is not None
    }
    return customize(plan, **changes) if changes else plan


def _csv_list(allowed: Sequence[str]) -> Any:
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in text.split(",") if item.strip())
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return items

    return parse


def _default_out_dir(*, quick: bool) -> Path:
    if quick:
        return RESULTS / "quick"
    return RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-{socket.gethostname()}"


def _logger(started_s: float) -> Any:
    def log(message: str) -> None:
        print(f"[{time.monotonic() - started_s:6.0f}s] {message}", flush=True)

    return log


if __name__ == "__main__":
    sys.exit(main())
