"""Prometheus metrics of one running service, on a registry of its own.

Each app (``create_app``) makes one ``ExportMetrics``; nothing is registered on
prometheus_client's global default registry, so several apps in one process (tests) do not
collide and importing this module changes nothing.

Another part of the service adds its own metrics to the same registry, and so to ``/metrics``,
the same way this module does: metric objects created with ``registry=metrics.registry``, or a
collector (``metrics.registry.register(collector)``) for values read when scraped, as the pool
gauges below are. Names start with ``exporter_`` and end with their unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: Labels of every per-export metric. ``export`` is a catalog name and ``format`` a format
#: name, or "" when the request named neither validly: a client-chosen string as a label value
#: would let any client create series without bound.
EXPORT_LABELS = ("export", "format")
#: 10 ms to 6 h (EXPORTER_MAX_EXPORT_DURATION's default): an export is a page of rows or a
#: night's dump.
DURATION_BUCKETS_S = (
    0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600,
)  # fmt: skip
#: 5 ms to 5 min: the first bytes wait for PREPARE and the first round trip, which a heavy
#: query (a sort, an aggregate) can make minutes long.
TTFB_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class ExportMetrics:
    """The service's metrics; the API calls ``meter`` per export and ``count_outcome``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        # The process's memory, CPU and open files, as on the default registry (read at scrape).
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.in_flight = Gauge(
            "exporter_exports_in_flight",
            "Exports running now: waiting for a connection, querying or streaming.",
            EXPORT_LABELS,
            registry=self.registry,
        )
        self.rows = Counter(
            "exporter_export_rows",
            "Rows exported, counted when each export ends (also when it fails or is cut off).",
            EXPORT_LABELS,
            registry=self.registry,
        )
        self.bytes = Counter(
            "exporter_export_bytes",
            "Response body bytes sent, as each chunk goes out (before any Content-Encoding).",
            EXPORT_LABELS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "exporter_export_duration_seconds",
            "From request to the end of the export, for exports that started their response.",
            EXPORT_LABELS,
            buckets=DURATION_BUCKETS_S,
            registry=self.registry,
        )
        self.ttfb = Histogram(
            "exporter_export_time_to_first_byte_seconds",
            "From request to the first body chunk sent.",
            EXPORT_LABELS,
            buckets=TTFB_BUCKETS_S,
            registry=self.registry,
        )
        self.outcomes = Counter(
            "exporter_exports",
            "Export requests by how they ended: outcome, and the cause of failed and rejected.",
            (*EXPORT_LABELS, "outcome", "cause"),
            registry=self.registry,
        )

    def declare(self, exports: Iterable[str], formats: Iterable[str]) -> None:
        """Create the per-export series at zero, so the first export moves them visibly.

        (A series that appears with its first increment hides that increment from rate().)
        """
        formats = tuple(formats)
        for export in exports:
            for format_name in formats:
                self.in_flight.labels(export, format_name)
                self.rows.labels(export, format_name)
                self.bytes.labels(export, format_name)
                self.outcomes.labels(export, format_name, "completed", "")

    def watch_pool(self, read_stats: Callable[[], Mapping[str, int]]) -> None:
        """Report the connection pool, read from ``read_stats()`` at each scrape."""
        self.registry.register(_PoolCollector(read_stats))

    def meter(self, export: str, format_name: str) -> ExportMeter:
        """The metrics of one export, labels bound once (off the per-chunk path)."""
        labels = (export, format_name)
        return ExportMeter(
            metrics=self,
            labels=labels,
            in_flight=self.in_flight.labels(*labels),
            bytes=self.bytes.labels(*labels),
        )

    def count_outcome(self, export: str, format_name: str, outcome: str, cause: str | None) -> None:
        """Count one ended export request (``meter`` does this for exports it metered)."""
        self.outcomes.labels(export, format_name, outcome, cause or "").inc()


@dataclass(slots=True, kw_only=True)
class ExportMeter:
    """One export's metrics: ``started``, ``sent`` per chunk, ``first_byte``, ``ended``."""

    metrics: ExportMetrics
    labels: tuple[str, str]
    in_flight: Gauge
    bytes: Counter

    def started(self) -> None:
        self.in_flight.inc()

    def sent(self, size_bytes: int) -> None:
        self.bytes.inc(size_bytes)

    def first_byte(self, ttfb_s: float) -> None:
        self.metrics.ttfb.labels(*self.labels).observe(ttfb_s)

    def ended(
        self, *, outcome: str, cause: str | None, rows: int, duration_s: float, responded: bool
    ) -> None:
        """The export is over; ``responded``: its 200 went out (its duration is an export's)."""
        self.in_flight.dec()
        self.metrics.rows.labels(*self.labels).inc(rows)
        if responded:
            self.metrics.duration.labels(*self.labels).observe(duration_s)
        self.metrics.count_outcome(*self.labels, outcome, cause)


class _PoolCollector(Collector):
    """The pool's gauges, read when scraped rather than polled."""

    def __init__(self, read_stats: Callable[[], Mapping[str, int]]) -> None:
        self._read_stats = read_stats

    def collect(self) -> Iterator[Metric]:
        stats = self._read_stats()
        for key, name, help_text in _POOL_GAUGES:
            gauge = GaugeMetricFamily(name, help_text)
            gauge.add_metric([], stats[key])
            yield gauge


_POOL_GAUGES = (
    ("size", "exporter_db_pool_connections", "Connections open in the pool."),
    (
        "in_use",
        "exporter_db_pool_connections_in_use",
        "Pool connections checked out (counted by checkout, not by asyncpg's connected holders).",
    ),
    (
        "lost",
        "exporter_db_pool_connections_lost",
        "Pool connections whose holder ended without giving them back (should stay 0).",
    ),
    ("idle", "exporter_db_pool_connections_idle", "Pool connections open and free."),
    ("max", "exporter_db_pool_connections_max", "Most connections the pool opens."),
    ("waiting", "exporter_db_pool_waiting_requests", "Exports waiting for a pool connection."),
)
