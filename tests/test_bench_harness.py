"""The benchmark harness end to end: ``python -m benchmarks.run --quick`` (``make bench-quick``).

Checks that every suite produces well-formed results (raw runs, summary, report, plots), never
how fast anything was: timings belong to ``benchmarks/``, and this machine is shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
FORMATS = {"csv", "ndjson", "arrow", "parquet"}
PLOTS = ("memory.png", "ttfb.png", "first_data.png", "throughput.png", "healthz.png",
         "concurrency.png")  # fmt: skip
RUN_KEYS = {
    "key", "suite", "target", "format", "rows", "clients", "attempt", "ok", "disturbed", "kept",
    "headers_s", "ttfb_s", "first_data_s", "total_s", "rows_per_s", "mb_per_s", "bytes",
    "server_idle_rss_bytes", "server_peak_rss_bytes", "server_rss_growth_bytes", "server_cpu_s",
    "backend_cpu_s", "client_cpu_s", "healthz_count", "healthz_max_s", "other_cores",
}  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "quick"
    command = [sys.executable, "-m", "benchmarks.run", "--quick", "--database-url", SERVER_URL,
               "--out", str(out)]  # fmt: skip
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return out


def _runs(results: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((results / "raw").glob("*.json"))]


def test_every_run_is_recorded_with_positive_numbers(results: Path) -> None:
    runs = _runs(results)
    assert runs
    for run in runs:
        assert run.keys() >= RUN_KEYS, run["key"]
        assert run["ok"], (run["key"], run["error"])
        for name in ("ttfb_s", "first_data_s", "total_s", "rows_per_s", "mb_per_s", "bytes"):
            assert run[name] > 0, (run["key"], name)
        assert run["backend_cpu_s"] >= 0 and run["client_cpu_s"] >= 0 and run["other_cores"] >= 0
        if run["target"] in ("exporter", "naive"):
            assert run["server_idle_rss_bytes"] > 0 and run["server_peak_rss_bytes"] > 0
            assert run["server_rss_growth_bytes"] >= 0
            # /proc counts CPU in 10 ms ticks: a quick run of 10,000 rows can read 0.
            assert run["server_cpu_s"] >= 0, run["key"]
            assert run["healthz_count"] >= 1 and run["healthz_max_s"] > 0
    assert sum(run["server_cpu_s"] or 0 for run in runs) > 0  # but it is measured


def test_every_suite_format_and_reference_is_measured(results: Path) -> None:
    points = json.loads((results / "summary.json").read_text())
    assert all(p["runs"] >= 1 for p in points)
    seen = {(p["suite"], p["target"], p["format"]) for p in points}
    for fmt in FORMATS:
        for suite in ("headline", "sweep", "concurrency"):
            assert (suite, "exporter", fmt) in seen
    assert {("reference", "psql", "csv"), ("headline", "naive", "json"),
            ("headline", "adbc", "arrow")} <= seen  # fmt: skip
    sweep = [p for p in points if p["suite"] == "sweep"]
    assert len({p["fetch_rows"] for p in sweep}) >= 2
    assert len({p["chunk_bytes"] for p in sweep}) >= 2
    assert len({p["clients"] for p in points if p["suite"] == "concurrency"}) >= 2
    headline = [p for p in points if p["suite"] == "headline" and p["target"] == "exporter"]
    assert all(p["ratio_to_psql"] > 0 for p in headline)


def test_compression_is_measured_for_each_coding(results: Path) -> None:
    points = json.loads((results / "summary.json").read_text())
    compressed = {(p["format"], p["coding"]): p for p in points if p["suite"] == "compression"}
    assert set(compressed) == {(f, c) for f in ("csv", "ndjson")
                               for c in ("identity", "gzip", "zstd", "br")}  # fmt: skip
    for (fmt, coding), point in compressed.items():
        metrics = point["metrics"]
        decoded = metrics["decoded_bytes"]["median"]
        assert decoded == compressed[(fmt, "identity")]["metrics"]["bytes"]["median"]
        if coding == "identity":
            assert metrics["compression_ratio"]["median"] == 1
        else:  # smaller on the wire, by the ratio reported
            assert metrics["bytes"]["median"] < decoded / 2
            ratio = metrics["compression_ratio"]["median"]
            assert ratio == pytest.approx(decoded / metrics["bytes"]["median"])


def test_report_and_plots_exist(results: Path) -> None:
    report = (results / "report.md").read_text()
    for heading in ("## Machine", "## Headline", "## Sweeps", "## Concurrency", "## Compression",
                    "## Runs"):  # fmt: skip
        assert heading in report
    assert "CSV size equals psql COPY's" in report and "DIFFERENT" not in report
    machine = json.loads((results / "machine.json").read_text())
    assert machine["cores"] >= 1 and machine["memory_bytes"] > 0
    assert machine["postgresql"].startswith("PostgreSQL")
    for name in PLOTS:
        plot = results / name
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"]({name})" in report
