"""The markdown report: machine, headline table, sweeps, concurrency, checks, plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness.plan import (
    COPY_FORMATS,
    DEFAULT_CHUNK_BYTES,
    FORMATS,
    KIB,
    MB,
    MIB,
    Plan,
)
from benchmarks.harness.plots import is_chunk_bytes_sweep, is_fetch_rows_sweep
from benchmarks.harness.queries import WARMUP_ROWS
from benchmarks.harness.summary import find, median

Points = Sequence[dict[str, Any]]

_TARGET_LABEL = {
    "psql": "psql COPY (csv)",
    "naive": "naive endpoint (json)",
    "adbc": "ADBC to Arrow (in-process)",
}


def render_report(
    *,
    points: Points,
    machine: dict[str, Any],
    plan: Plan,
    command: str,
    started_at: str,
    duration_s: float,
    plots: Sequence[Path],
) -> str:
    """The whole report as markdown (plots linked by file name, next to the report)."""
    parts = [
        f"# exporter benchmark: {started_at[:10]} on {machine['host']}\n",
        (
            f"`{command}`: {duration_s / 60:.1f} min. Every number is the median of the kept runs"
            " (min..max in brackets where shown). Rates are for the whole export, read to its"
            " end by a client over a real socket.\n"
        ),
        _machine_section(machine),
        _plan_section(plan),
        headline_table(points, plan),
        _sweep_section(points),
        _concurrency_section(points),
        compression_table(points),
        _checks_section(points),
        _runs_section(points),
    ]
    if plots:
        parts.append("## Plots\n\n" + "\n".join(f"![{p.stem}]({p.name})\n" for p in plots))
    return "\n".join(part for part in parts if part)


def headline_table(points: Points, plan: Plan) -> str:
    """Per format and reference: rows/s, ratio to psql COPY, TTFB, peak RSS, worst /healthz."""
    rows_of = [
        p for p in points if p["rows"] == plan.rows and p["suite"] in ("headline", "reference")
    ]
    if not any(p["suite"] == "headline" for p in rows_of):
        return ""
    lines = [
        (
            f"## Headline: {plan.rows:,} rows, plain requests (the server's defaults:"
            f" {_copy_formats()} from COPY; chunk_bytes {_size(DEFAULT_CHUNK_BYTES)})\n"
        ),
        (
            "| what | rows/s | × psql COPY | × ADBC | MB/s | headers | first byte | first 4 KiB"
            " | idle RSS | peak RSS above idle | server CPU s | server CPU µs/row"
            " | PG backend CPU s | client CPU s | worst /healthz |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = [("psql", "csv")] + [("exporter", f) for f in plan.formats]
    order += [("naive", "json"), ("adbc", "arrow")]
    for target, fmt in order:
        point = find(rows_of, target=target, format=fmt)
        if point is None:
            continue
        label = _TARGET_LABEL.get(target, f"exporter {fmt} ({point['path']})")
        lines.append(
            f"| {label} | {_rate_range(point)} | {_ratio(point)}"
            f" | {_ratio(point, 'ratio_to_adbc')} | {_num(median(point, 'mb_per_s'))}"
            f" | {_ms(median(point, 'headers_s'))} | {_ms(median(point, 'ttfb_s'))}"
            f" | {_ms(median(point, 'first_data_s'))}"
            f" | {_mb(median(point, 'server_idle_rss_bytes'))}"
            f" | {_mb(median(point, 'server_rss_growth_bytes'))}"
            f" | {_num(median(point, 'server_cpu_s'), 1)}"
            f" | {_per_row_us(median(point, 'server_cpu_s'), point['rows'])}"
            f" | {_num(median(point, 'backend_cpu_s'), 1)}"
            f" | {_num(median(point, 'client_cpu_s'), 1)} | {_ms(median(point, 'healthz_max_s'))} |"
        )
    lines.append(
        "\nADBC and psql have no HTTP server: ADBC's memory and CPU are its worker process's, its"
        " first byte is its first record batch; psql's CPU is under client."
    )
    return "\n".join(lines) + "\n"


def _sweep_section(points: Points) -> str:
    sweep = [p for p in points if p["suite"] == "sweep"]
    if not sweep:
        return ""
    rows = sweep[0]["rows"]
    sections = [f"## Sweeps: {rows:,} rows\n"]
    for swept, selected, title in (
        (
            "fetch_rows",
            is_fetch_rows_sweep,
            f"fetch_rows (cursor path, every format) at chunk_bytes={_size(DEFAULT_CHUNK_BYTES)}",
        ),
        (
            "chunk_bytes",
            is_chunk_bytes_sweep,
            (f"chunk_bytes on the default path (fetch_rows unset: {_copy_formats()} from COPY)"),
        ),
    ):
        line = sorted(
            (p for p in sweep if selected(p)),
            key=lambda p: (_format_rank(p["format"]), p[swept]),
        )
        sections += [
            f"### {title}\n",
            (
                f"| format | path | {swept} | rows/s | × psql | first byte | first 4 KiB"
                " | peak RSS above idle | server CPU s | worst /healthz | runs |"
            ),
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for point in line:
            value = _size(point[swept]) if swept == "chunk_bytes" else f"{point[swept]:,}"
            sections.append(
                f"| {point['format']} | {point['path']} | {value} | {_rate_range(point)}"
                f" | {_ratio(point)}"
                f" | {_ms(median(point, 'ttfb_s'))} | {_ms(median(point, 'first_data_s'))}"
                f" | {_mb(median(point, 'server_rss_growth_bytes'))}"
                f" | {_num(median(point, 'server_cpu_s'), 2)}"
                f" | {_ms(median(point, 'healthz_max_s'))}"
                f" | {_runs(point)} |"
            )
        sections.append("")
    return "\n".join(sections)


def _concurrency_section(points: Points) -> str:
    concurrent = sorted(
        (p for p in points if p["suite"] == "concurrency"),
        key=lambda p: (_format_rank(p["format"]), p["clients"]),
    )
    if not concurrent:
        return ""
    rows = concurrent[0]["rows"]
    lines = [
        f"## Concurrency: each client reads all {rows:,} rows (plain requests)\n",
        (
            "| format | clients | aggregate rows/s | × psql (one COPY) | first byte, median client"
            " | first byte, worst client | first 4 KiB, worst client | peak RSS above idle"
            " | worst /healthz | failed runs |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for point in concurrent:
        lines.append(
            f"| {point['format']} | {point['clients']} | {_rate_range(point)} | {_ratio(point)}"
            f" | {_ms(median(point, 'ttfb_s'))} | {_ms(median(point, 'ttfb_max_s'))}"
            f" | {_ms(median(point, 'first_data_max_s'))}"
            f" | {_mb(median(point, 'server_rss_growth_bytes'))}"
            f" | {_ms(median(point, 'healthz_max_s'))} | {point['failed']} of {point['attempts']} |"
        )
    return "\n".join(lines) + "\n"


def compression_table(points: Points) -> str:
    """Per format and coding: rows/s (and as a share of identity's), wire size and ratio."""
    compressed = sorted(
        (p for p in points if p["suite"] == "compression"),
        key=lambda p: (_format_rank(p["format"]), _CODING_ORDER.index(p["coding"])),
    )
    if not compressed:
        return ""
    rows = compressed[0]["rows"]
    lines = [
        (
            f"## Compression: {rows:,} rows, plain requests with Accept-Encoding (the client"
            " decodes as it reads)\n"
        ),
        (
            "| format | coding | rows/s | × identity | MB on the wire | ratio | first 4 KiB"
            " | server CPU s | client CPU s | worst /healthz | runs |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for point in compressed:
        identity = find(compressed, format=point["format"], coding="identity")
        base = median(identity, "rows_per_s")
        rate = median(point, "rows_per_s")
        share = f"{rate / base:.2f}" if rate and base else ""
        ratio = median(point, "compression_ratio")
        lines.append(
            f"| {point['format']} | {point['coding']} | {_rate_range(point)} | {share}"
            f" | {_num(_scaled(median(point, 'bytes'), MB), 1)}"
            f" | {'' if ratio is None else f'{ratio:.2f}'}"
            f" | {_ms(median(point, 'first_data_s'))}"
            f" | {_num(median(point, 'server_cpu_s'), 2)}"
            f" | {_num(median(point, 'client_cpu_s'), 2)}"
            f" | {_ms(median(point, 'healthz_max_s'))} | {_runs(point)} |"
        )
    return "\n".join(lines) + "\n"


def _checks_section(points: Points) -> str:
    """CSV must be byte for byte COPY's output: equal sizes on the same data set."""
    lines = []
    for reference in (p for p in points if p["target"] == "psql"):
        copy_bytes = median(reference, "bytes")
        for point in points:
            # Compressed CSV is held to COPY's size once decoded.
            if (point["target"], point["format"], point["rows"]) != (
                "exporter",
                "csv",
                reference["rows"],
            ):
                continue
            ours = median(point, "decoded_bytes")
            if point["clients"] > 1 and ours is not None:
                ours /= point["clients"]
            verdict = "same" if ours == copy_bytes else "DIFFERENT"
            lines.append(
                f"- {point['key']}: {_int(ours)} bytes, psql COPY {_int(copy_bytes)}: {verdict}"
            )
    if not lines:
        return ""
    return "## Checks: CSV size equals psql COPY's\n\n" + "\n".join(lines) + "\n"


def _runs_section(points: Points) -> str:
    attempts = sum(p["attempts"] for p in points)
    disturbed = sum(p["disturbed"] for p in points)
    failed = sum(p["failed"] for p in points)
    short = [p["key"] for p in points if p["runs"] < max(q["runs"] for q in points)]
    still = [p["key"] for p in points if p["disturbed_kept"]]
    lines = [
        "## Runs\n",
        (
            f"{attempts} runs in all; {disturbed} disturbed (other processes used more CPU than the"
            f" threshold) and {failed} failed, each replaced while retries were left."
        ),
    ]
    if still:
        lines.append(f"Points that kept disturbed runs (no retries left): {', '.join(still)}.")
    if short:
        lines.append(f"Points with fewer kept runs than planned: {', '.join(short)}.")
    errors = sorted({e for p in points for e in p["errors"]})
    if errors:
        lines.append("Errors seen: " + "; ".join(errors[:10]))
    return "\n".join(lines) + "\n"


def _machine_section(machine: dict[str, Any]) -> str:
    libraries = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items())
    settings = ", ".join(f"{k}={v}" for k, v in machine["postgresql_settings"].items())
    dirty = " (exporter/ had uncommitted changes)" if machine["exporter_dirty"] else ""
    return (
        "## Machine\n\n"
        f"- CPU: {machine['cpu_model']}, {machine['cores']} cores;"
        f" RAM {machine['memory_bytes'] / 2**30:.1f} GiB\n"
        f"- OS: {machine['os']}, kernel {machine['kernel']}\n"
        f"- PostgreSQL: {machine['postgresql']} ({settings}), on the same machine\n"
        f"- Python {machine['python']}; {libraries}\n"
        f"- exporter at commit {machine['exporter_commit']}{dirty}\n"
    )


def _plan_section(plan: Plan) -> str:
    servers = (
        "A fresh server per point" if plan.fresh_server_per_point else "One server per data set"
    )
    return (
        "## Method\n\n"
        f"- {plan.runs} kept runs per point; up to {plan.retries} extra attempts per point"
        f" replace disturbed or failed ones, within {plan.retry_budget_s:g} s of retries for the"
        " whole run. A run is disturbed when other processes used more than"
        f" {plan.disturbed_cores:g} cores on average (from /proc/stat minus our processes);"
        f" each run first waits up to {plan.quiet_wait_s:g} s for a quiet moment.\n"
        f"- Server RSS sampled every {plan.sample_period_s * 1000:g} ms; /healthz probed every"
        f" {plan.probe_interval_s * 1000:g} ms by a separate process.\n"
        f"- {servers}, warmed up with a {WARMUP_ROWS:,}-row export in every format; its idle RSS"
        " is measured after that.\n"
    )


_CODING_ORDER = ("identity", "gzip", "zstd", "br")


def _scaled(value: float | None, unit: float) -> float | None:
    return None if value is None else value / unit


def _format_rank(fmt: str) -> int:
    return FORMATS.index(fmt) if fmt in FORMATS else len(FORMATS)


def _rate_range(point: dict[str, Any]) -> str:
    rate = point["metrics"]["rows_per_s"]
    if not rate:
        return "failed"
    return f"{_k(rate['median'])} ({_k(rate['min'])}..{_k(rate['max'])})"


def _ratio(point: dict[str, Any], key: str = "ratio_to_psql") -> str:
    ratio = point.get(key)
    return "" if ratio is None else f"{ratio:.2f}"


def _per_row_us(seconds: float | None, rows: int) -> str:
    return "" if seconds is None else f"{seconds / rows * 1e6:.2f}"


def _copy_formats() -> str:
    return ", ".join(f.upper() if f in ("csv", "ndjson") else f.capitalize() for f in COPY_FORMATS)


def _runs(point: dict[str, Any]) -> str:
    flag = f", {point['disturbed_kept']} disturbed" if point["disturbed_kept"] else ""
    return f"{point['runs']}{flag}"


def _k(value: float) -> str:
    return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.0f}k"


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value / MB:.0f} MB"


def _num(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _int(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def _size(value: int) -> str:
    return f"{value // MIB} MiB" if value >= MIB else f"{value // KIB} KiB"
