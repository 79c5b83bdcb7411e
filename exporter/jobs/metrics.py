"""Prometheus metrics of the job queue and of the jobs this replica runs.

Registered on the app's registry (``ExportMetrics.registry``), so they appear on ``/metrics``
next to the export metrics. The queue depth is the one the worker last read during its
housekeeping (every ``EXPORTER_JOBS_POLL``): a scrape never queries the database.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.observability.metrics import DURATION_BUCKETS_S, EXPORT_LABELS

JOB_STATES_ACTIVE = ("queued", "running")


class JobMetrics:
    """What the job worker reports: the queue it last saw and the jobs it ran."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.queue_counts: dict[str, int] | None = None  # None until the worker has looked
        registry.register(_QueueCollector(self))
        self.running_here = Gauge(
            "exporter_jobs_running_here",
            "Jobs this replica's worker is running now.",
            registry=registry,
        )
        self.finished = Counter(
            "exporter_jobs_finished",
            "Jobs this replica's worker ended, by final state (succeeded, failed, cancelled).",
            (*EXPORT_LABELS, "state"),
            registry=registry,
        )
        self.rows = Counter(
            "exporter_job_rows",
            "Rows written to job files by this replica (counted when each job ends).",
            EXPORT_LABELS,
            registry=registry,
        )
        self.duration = Histogram(
            "exporter_job_duration_seconds",
            "From a job's start on this replica to its end, for jobs that succeeded.",
            EXPORT_LABELS,
            buckets=DURATION_BUCKETS_S,
            registry=registry,
        )

    def job_ended(
        self, export: str, format_name: str, state: str, *, rows: int, duration_s: float | None
    ) -> None:
        """Count one job this worker brought to a final state."""
        self.finished.labels(export, format_name, state).inc()
        self.rows.labels(export, format_name).inc(rows)
        if duration_s is not None:
            self.duration.labels(export, format_name).observe(duration_s)


class _QueueCollector(Collector):
    def __init__(self, metrics: JobMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        counts = self._metrics.queue_counts
        if counts is None:
            return
        gauge = GaugeMetricFamily(
            "exporter_jobs",
            "Jobs queued and running over all replicas, as this replica's worker last read it.",
            labels=("state",),
        )
        for state in JOB_STATES_ACTIVE:
            gauge.add_metric([state], counts.get(state, 0))
        yield gauge
