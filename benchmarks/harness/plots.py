"""PNG plots of a summary (matplotlib, Agg backend: no display needed).

Sweep plots have two panels, fetch_rows swept at the default chunk_bytes (the cursor path) and
chunk_bytes swept with fetch_rows unset (the default path), one line per format; the bars span
min..max over the kept runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness.plan import DEFAULT_CHUNK_BYTES, KIB, MB

Points = Sequence[dict[str, Any]]

_FORMAT_STYLE = {
    "csv": ("tab:blue", "o"),
    "ndjson": ("tab:orange", "s"),
    "arrow": ("tab:green", "^"),
    "parquet": ("tab:red", "D"),
}


def draw_all(points: Points, out_dir: Path) -> list[Path]:
    """Every plot the summary has data for; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")  # here, not at import: importing this module changes nothing
    written = []
    sweep = [p for p in points if p["suite"] == "sweep"]
    if sweep:
        copy_rate = _copy_rate(points, sweep[0]["rows"])
        for name, metric, label, scale, reference in (
            ("memory", "server_rss_growth_bytes", "server peak RSS above idle (MB)", 1 / MB, None),
            ("ttfb", "ttfb_s", "time to first body byte (ms)", 1000.0, None),
            ("first_data", "first_data_s", "time to the first 4 KiB of body (ms)", 1000.0, None),
            ("throughput", "rows_per_s", "rows/s (thousands)", 1 / 1000, copy_rate),
            (
                "healthz",
                "healthz_max_s",
                "worst /healthz latency during the export (ms)",
                1000.0,
                None,
            ),
        ):
            path = out_dir / f"{name}.png"
            _sweep_figure(sweep, metric, label, scale, reference, path)
            written.append(path)
    concurrent = [p for p in points if p["suite"] == "concurrency"]
    if concurrent:
        path = out_dir / "concurrency.png"
        _concurrency_figure(concurrent, path)
        written.append(path)
    return written


def _copy_rate(points: Points, rows: int) -> float | None:
    for point in points:
        if point["target"] == "psql" and point["rows"] == rows and point["metrics"]["rows_per_s"]:
            return float(point["metrics"]["rows_per_s"]["median"])
    return None


def _sweep_figure(
    sweep: Points,
    metric: str,
    label: str,
    scale: float,
    copy_rate: float | None,
    path: Path,
) -> None:
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    rows = sweep[0]["rows"]
    panels: tuple[tuple[Any, str, Callable[[dict[str, Any]], bool], str, str, Any], ...] = (
        (
            left,
            "fetch_rows",
            is_fetch_rows_sweep,
            "fetch_rows (rows per round trip)",
            f"cursor path (fetch_rows set), chunk_bytes = {DEFAULT_CHUNK_BYTES // KIB} KiB",
            _rows,
        ),
        (
            right,
            "chunk_bytes",
            is_chunk_bytes_sweep,
            "chunk_bytes",
            "default path (no fetch_rows): every format by COPY",
            _kib,
        ),
    )
    for axes, swept, selected, xlabel, title, tick in panels:
        xs_all: set[int] = set()
        for fmt, (color, marker) in _FORMAT_STYLE.items():
            line = sorted(
                (p for p in sweep if p["format"] == fmt and selected(p)),
                key=lambda p: p[swept],
            )
            line = [p for p in line if p["metrics"].get(metric)]
            if not line:
                continue
            xs = [p[swept] for p in line]
            xs_all.update(xs)
            mid = [p["metrics"][metric]["median"] * scale for p in line]
            low = [m - p["metrics"][metric]["min"] * scale for m, p in zip(mid, line, strict=True)]
            high = [p["metrics"][metric]["max"] * scale - m for m, p in zip(mid, line, strict=True)]
            axes.errorbar(
                xs, mid, yerr=[low, high], color=color, marker=marker, label=fmt, capsize=3
            )
        if copy_rate is not None:
            axes.axhline(copy_rate * scale, color="gray", linestyle="--", label="psql COPY (csv)")
        axes.set_xscale("log")
        axes.set_xticks(sorted(xs_all), [tick(x) for x in sorted(xs_all)])
        axes.minorticks_off()
        axes.set_xlabel(xlabel)
        axes.set_title(title, fontsize=10)
        axes.grid(True, alpha=0.3)
    left.set_ylabel(label)
    left.set_ylim(bottom=0)
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=9)
    figure.suptitle(f"{label}: {rows:,} rows of orders_stream, median and min..max of the runs")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _concurrency_figure(points: Points, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, grid = plt.subplots(2, 3, figsize=(15, 8.5))
    panels = list(grid.flat)
    specs: tuple[tuple[str, str, float], ...] = (
        ("rows_per_s", "aggregate rows/s (thousands)", 1 / 1000),
        ("ttfb_s", "first body byte, median client (ms)", 1000.0),
        ("first_data_s", "first 4 KiB of body, median client (ms)", 1000.0),
        ("first_data_max_s", "first 4 KiB of body, slowest client (ms)", 1000.0),
        ("server_rss_growth_bytes", "server peak RSS above idle (MB)", 1 / MB),
        ("healthz_max_s", "worst /healthz latency (ms)", 1000.0),
    )
    levels: set[int] = set()
    for axes, (metric, label, scale) in zip(panels, specs, strict=True):
        for fmt, (color, marker) in _FORMAT_STYLE.items():
            line = sorted(
                (p for p in points if p["format"] == fmt and p["metrics"].get(metric)),
                key=lambda p: p["clients"],
            )
            if not line:
                continue
            xs = [p["clients"] for p in line]
            levels.update(xs)
            get = _getter(metric, scale)
            mid = [get(p, "median") for p in line]
            low = [m - get(p, "min") for m, p in zip(mid, line, strict=True)]
            high = [get(p, "max") - m for m, p in zip(mid, line, strict=True)]
            axes.errorbar(
                xs, mid, yerr=[low, high], color=color, marker=marker, label=fmt, capsize=3
            )
        axes.set_xscale("log")
        axes.set_xticks(sorted(levels), [str(x) for x in sorted(levels)])
        axes.minorticks_off()
        axes.set_xlabel("simultaneous exports")
        axes.set_ylabel(label)
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
    panels[0].legend(fontsize=9)
    rows = points[0]["rows"]
    figure.suptitle(
        f"Concurrency: each client reads all {rows:,} rows (default settings);"
        " median and min..max of the runs"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def is_fetch_rows_sweep(point: dict[str, Any]) -> bool:
    """A point of the fetch_rows sweep (cursor path, default chunk_bytes)."""
    return point["fetch_rows"] is not None and point["chunk_bytes"] == DEFAULT_CHUNK_BYTES


def is_chunk_bytes_sweep(point: dict[str, Any]) -> bool:
    """A point of the chunk_bytes sweep (fetch_rows unset: the default path)."""
    return point["fetch_rows"] is None and point["chunk_bytes"] is not None


def _getter(metric: str, scale: float) -> Callable[[dict[str, Any], str], float]:
    def get(point: dict[str, Any], which: str) -> float:
        return float(point["metrics"][metric][which]) * scale

    return get


def _rows(value: int) -> str:
    return f"{value // 1000}k" if value >= 1000 else str(value)


def _kib(value: int) -> str:
    return f"{value // (1024 * KIB)} MiB" if value >= 1024 * KIB else f"{value // KIB} KiB"
