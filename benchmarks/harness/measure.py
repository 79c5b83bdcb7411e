"""One measured run, and one point (repeated runs, disturbed ones replaced).

A run: the RSS/CPU sampler and the /healthz prober start, the machine's CPU counters are read,
the workload runs to its end, the counters are read again. Whatever CPU the machine spent
beyond our own processes (server, its PostgreSQL backends, the harness and its children) was
someone else's: above ``Plan.disturbed_cores`` the run is marked disturbed and repeated.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.harness import sampling
from benchmarks.harness.client import Transfer
from benchmarks.harness.plan import COPY_FORMATS, MB, Plan
from benchmarks.harness.server import ROOT


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """What one point measures."""

    suite: str
    #: exporter | psql | naive | adbc
    target: str
    #: The output format (psql: csv, naive: json, adbc: arrow).
    format: str
    #: Rows of the data set (the export reads all of them, per client).
    rows: int
    #: Request parameters; None: not sent (the server's default; for CSV and NDJSON an
    #: unset fetch_rows means the COPY path, a set one the cursor path).
    fetch_rows: int | None = None
    chunk_bytes: int | None = None
    clients: int = 1
    #: The content coding asked for in Accept-Encoding; None: none asked (identity).
    coding: str | None = None

    @property
    def path(self) -> str:
        """How the exporter produces the rows: PostgreSQL's COPY or a cursor and an encoder."""
        if self.target != "exporter":
            return ""
        if self.format in COPY_FORMATS and self.fetch_rows is None:
            return "copy"
        return "cursor"

    @property
    def key(self) -> str:
        """A unique, file-name-safe name of the point."""
        parts = [self.suite, self.target, self.format, f"r{self.rows}"]
        if self.target == "exporter":
            parts.append(self.path)
        if self.fetch_rows is not None:
            parts.append(f"f{self.fetch_rows}")
        if self.chunk_bytes is not None:
            parts.append(f"c{self.chunk_bytes}")
        parts.append(f"x{self.clients}")
        if self.coding is not None:
            parts.append(f"e{self.coding}")
        return "-".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a workload reports: its transfers (one per client) and its wall time."""

    transfers: list[Transfer]
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """How to run a case once, and which processes to watch while it runs."""

    run: Callable[[], Outcome]
    #: The database its backends connect to (they are found by process title).
    database: str
    #: The process whose memory is measured (the HTTP server, the ADBC worker); None: psql.
    server_pid: int | None = None
    #: The server's RSS when idle (after its warm-up), the baseline of the growth.
    idle_rss_bytes: int | None = None
    #: Probed every ``Plan.probe_interval_s`` during the run; None: no server to probe.
    health_url: str | None = None
    #: False once the server or worker has exited: further attempts would only fail.
    alive: Callable[[], bool] = lambda: True


def measure_once(case: Case, subject: Subject, plan: Plan, *, attempt: int) -> dict[str, Any]:
    """Run ``subject`` once; every measurement of the run as one JSON-ready record."""
    server_pids = [subject.server_pid] if subject.server_pid is not None else []
    hwm_reset = all(sampling.reset_peak_rss(pid) for pid in server_pids)
    prober = (
        _Prober.start(subject.health_url, plan.probe_interval_s) if subject.health_url else None
    )
    sampler = sampling.ProcessSampler(
        server_pids,
        discover=sampling.BackendFinder(subject.database),
        period_s=plan.sample_period_s,
    )
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    machine_start = sampling.MachineCpu.read()
    own_start, children_start = sampling.own_cpu_s(), sampling.children_cpu_s()
    window_start_s = time.perf_counter()
    try:
        with sampler:
            outcome = subject.run()
            latencies = prober.stop() if prober else None
            prober = None
    finally:
        if prober is not None:
            prober.stop()
    window_s = time.perf_counter() - window_start_s
    machine = sampling.MachineCpu.read() - machine_start
    own_s = sampling.own_cpu_s() - own_start
    children_s = sampling.children_cpu_s() - children_start

    server_cpu_s = sampler.cpu_s(server_pids)
    backends = sampler.discovered()
    backend_cpu_s = sampler.cpu_s(backends)
    ours_s = server_cpu_s + backend_cpu_s + own_s + children_s
    other_s = max(0.0, machine.busy_s - ours_s)
    other_cores = other_s / window_s if window_s > 0 else 0.0

    transfers = outcome.transfers
    errors = [t.error for t in transfers if t.error]
    total_bytes = sum(t.bytes for t in transfers)
    decoded_bytes = sum(t.bytes if t.decoded_bytes is None else t.decoded_bytes for t in transfers)
    rows = case.rows * len(transfers)
    ttfbs = [t.first_byte_s for t in transfers]
    first_data = [t.first_data_s for t in transfers]
    record: dict[str, Any] = {
        **asdict(case),
        "key": case.key,
        "path": case.path,
        "attempt": attempt,
        "started_at": started_at,
        "ok": not errors and len(transfers) == case.clients,
        "error": errors[0] if errors else None,
        "errors": len(errors),
        "disturbed": other_cores > plan.disturbed_cores,
        "kept": False,
        "wall_s": outcome.wall_s,
        "headers_s": statistics.median(t.headers_s for t in transfers),
        "ttfb_s": statistics.median(ttfbs),
        "ttfb_min_s": min(ttfbs),
        "ttfb_max_s": max(ttfbs),
        "first_data_s": statistics.median(first_data),
        "first_data_max_s": max(first_data),
        "total_s": outcome.wall_s,
        "bytes": total_bytes,
        "decoded_bytes": decoded_bytes,
        # How much smaller the body went over the wire than it decodes to (1: not compressed).
        "compression_ratio": decoded_bytes / total_bytes if total_bytes else None,
        "rows_total": rows,
        "rows_per_s": rows / outcome.wall_s,
        "mb_per_s": total_bytes / MB / outcome.wall_s,
        "server_cpu_s": server_cpu_s if server_pids else None,
        "backend_cpu_s": backend_cpu_s,
        "backends": len(backends),
        "client_cpu_s": sum(t.cpu_s for t in transfers),
        "other_cpu_s": other_s,
        "other_cores": other_cores,
        "steal_s": machine.steal_s,
        "machine_busy_s": machine.busy_s,
        "window_s": window_s,
        "samples": sampler.samples,
        "sample_max_gap_s": sampler.max_gap_s,
        **_memory(subject, sampler, hwm_reset=hwm_reset),
        **_health(latencies),
        "clients_detail": [
            {
                "ttfb_s": t.first_byte_s,
                "first_data_s": t.first_data_s,
                "total_s": t.total_s,
                "bytes": t.bytes,
                "error": t.error,
            }
            for t in transfers
        ]
        if case.clients > 1
        else [],
        "extra": outcome.extra,
    }
    return record


def measure_point(
    case: Case,
    subject: Subject,
    plan: Plan,
    *,
    retry_budget: RetryBudget,
    log: Callable[[str], None] = print,
    earlier: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Runs of ``case`` until ``plan.runs`` good ones, if ``plan.retries`` extra attempts allow.

    Each attempt starts in a quiet moment if one comes soon. Runs that failed or were
    disturbed are replaced while attempts remain and ``retry_budget`` has time for one more;
    then the least disturbed successful runs fill the gap and stay marked ``disturbed`` (the
    report counts them). ``earlier`` are this point's runs on a server that has since died;
    they count as attempts. Returns every attempt, ``kept`` set on those the summary uses.
    """
    records = [dict(r, kept=False) for r in earlier]
    good = sum(r["ok"] and not r["disturbed"] for r in records)
    while len(records) < plan.runs + plan.retries and good < plan.runs:
        attempt = len(records) + 1
        retry = attempt > plan.runs
        expected_s = statistics.median(r["window_s"] for r in records) if records else 0.0
        if retry and not retry_budget.allows(expected_s):
            log(f"  {case.key}: retry budget spent, keeping what there is")
            break
        started_s = time.monotonic()
        waited_s = sampling.wait_for_quiet(plan.disturbed_cores, max_wait_s=plan.quiet_wait_s)
        record = measure_once(case, subject, plan, attempt=attempt)
        record["quiet_wait_s"] = waited_s
        records.append(record)
        if retry:
            retry_budget.spend(time.monotonic() - started_s)
        log(_describe(record))
        if not record["ok"] and not subject.alive():
            log(f"  {case.key}: the server exited during the run")
            break
        good += record["ok"] and not record["disturbed"]
    successful = [r for r in records if r["ok"]]
    successful.sort(key=lambda r: (r["disturbed"], r["other_cores"] if r["disturbed"] else 0))
    for record in successful[: plan.runs]:
        record["kept"] = True
    return records


@dataclass(slots=True)
class RetryBudget:
    """Seconds left for retries across the whole benchmark run."""

    remaining_s: float

    def allows(self, expected_s: float) -> bool:
        return self.remaining_s > 0 and expected_s <= self.remaining_s

    def spend(self, seconds: float) -> None:
        self.remaining_s -= seconds


def _memory(
    subject: Subject, sampler: sampling.ProcessSampler, *, hwm_reset: bool
) -> dict[str, Any]:
    pid = subject.server_pid
    if pid is None:
        return dict.fromkeys(
            (
                "server_idle_rss_bytes",
                "server_peak_rss_bytes",
                "server_rss_growth_bytes",
                "server_hwm_bytes",
                "server_hwm_growth_bytes",
            ),
        )
    idle = subject.idle_rss_bytes or 0
    peak = sampler.peak_rss_bytes(pid)
    hwm = sampling.peak_rss_bytes(pid) if hwm_reset else None
    return {
        "server_idle_rss_bytes": idle,
        "server_peak_rss_bytes": peak,
        "server_rss_growth_bytes": max(0, peak - idle),
        "server_hwm_bytes": hwm,
        "server_hwm_growth_bytes": None if hwm is None else max(0, hwm - idle),
    }


def _health(latencies: list[float | None] | None) -> dict[str, Any]:
    if latencies is None:
        return {
            "healthz_count": None,
            "healthz_failed": None,
            "healthz_max_s": None,
            "healthz_p50_s": None,
            "healthz_p99_s": None,
        }
    answered = sorted(x for x in latencies if x is not None)
    return {
        "healthz_count": len(latencies),
        "healthz_failed": len(latencies) - len(answered),
        "healthz_max_s": answered[-1] if answered else None,
        "healthz_p50_s": statistics.median(answered) if answered else None,
        "healthz_p99_s": answered[min(len(answered) - 1, int(len(answered) * 0.99))]
        if answered
        else None,
    }


def _describe(record: dict[str, Any]) -> str:
    flags = []
    if not record["ok"]:
        flags.append(f"FAILED: {record['error']}")
    if record["disturbed"]:
        flags.append(f"disturbed: {record['other_cores']:.2f} other cores")
    growth = record["server_rss_growth_bytes"]
    memory = f" +{growth / MB:.0f} MB" if growth is not None else ""
    return (
        f"  {record['key']} #{record['attempt']}: {record['rows_per_s']:,.0f} rows/s,"
        f" ttfb {record['ttfb_s'] * 1000:.1f} ms{memory}"
        + (f" [{'; '.join(flags)}]" if flags else "")
    )


class _Prober:
    """The /healthz prober process (``prober.py``)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    @classmethod
    def start(cls, url: str, interval_s: float) -> _Prober:
        argv = [sys.executable, "-m", "benchmarks.harness.prober", url, str(interval_s)]
        process = subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            process.kill()
            process.wait()
            raise RuntimeError("the /healthz prober did not start")
        return cls(process)

    def stop(self) -> list[float | None]:
        """Stop probing; the latencies (None: a probe that failed)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        line = self.process.stdout.readline()
        self.process.wait()
        result: list[float | None] = json.loads(line) if line else []
        return result
