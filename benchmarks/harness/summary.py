"""Raw runs -> one summary per point: median, min and max of every metric over the kept runs."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

#: Metrics summarized per point (all "more is more": seconds, bytes, rates).
METRICS = (
    "rows_per_s",
    "mb_per_s",
    "headers_s",
    "ttfb_s",
    "ttfb_max_s",
    "first_data_s",
    "first_data_max_s",
    "total_s",
    "bytes",
    "decoded_bytes",
    "compression_ratio",
    "server_idle_rss_bytes",
    "server_peak_rss_bytes",
    "server_rss_growth_bytes",
    "server_hwm_growth_bytes",
    "server_cpu_s",
    "backend_cpu_s",
    "client_cpu_s",
    "healthz_max_s",
    "healthz_p99_s",
    "healthz_p50_s",
    "other_cores",
    "sample_max_gap_s",
)
CASE_FIELDS = (
    "key",
    "suite",
    "target",
    "path",
    "format",
    "rows",
    "fetch_rows",
    "chunk_bytes",
    "clients",
    "coding",
)


def stat(values: Iterable[float | None]) -> dict[str, float] | None:
    """Median, min and max of the values that exist; None if there are none."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"median": statistics.median(present), "min": min(present), "max": max(present)}


def summarize(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per point, in the order the points were first measured."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_key.setdefault(record["key"], []).append(record)
    points = [_point(runs) for runs in by_key.values()]
    _add_ratios(points)
    return points


def _point(runs: list[dict[str, Any]]) -> dict[str, Any]:
    kept = [r for r in runs if r["kept"]]
    point: dict[str, Any] = {name: runs[0].get(name) for name in CASE_FIELDS}
    point.update(
        attempts=len(runs),
        runs=len(kept),
        failed=sum(not r["ok"] for r in runs),
        disturbed=sum(r["disturbed"] for r in runs),
        disturbed_kept=sum(r["disturbed"] for r in kept),
        errors=sorted({r["error"] for r in runs if r["error"]}),
        metrics={name: stat(r.get(name) for r in kept) for name in METRICS},
    )
    return point


def _add_ratios(points: list[dict[str, Any]]) -> None:
    """Each point's median rows/s as a ratio to psql's COPY, and to ADBC, on the same data set."""
    for target, key in (("psql", "ratio_to_psql"), ("adbc", "ratio_to_adbc")):
        reference_rate = {
            p["rows"]: p["metrics"]["rows_per_s"]["median"]
            for p in points
            if p["target"] == target and p["metrics"]["rows_per_s"]
        }
        for point in points:
            rate = point["metrics"]["rows_per_s"]
            reference = reference_rate.get(point["rows"])
            point[key] = rate["median"] / reference if rate and reference else None


def find(points: Sequence[dict[str, Any]], **fields: Any) -> dict[str, Any] | None:
    """The first point whose fields equal ``fields``."""
    for point in points:
        if all(point.get(name) == value for name, value in fields.items()):
            return point
    return None


def median(point: dict[str, Any] | None, metric: str) -> float | None:
    """The median of ``metric`` at ``point``, if measured."""
    if point is None:
        return None
    value = point["metrics"].get(metric)
    return None if value is None else float(value["median"])
