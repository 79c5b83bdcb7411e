from __future__ import annotations

import prometheus_client
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.observability.metrics import ExportMetrics


def samples(metrics: ExportMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: ExportMetrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, tuple(sorted(labels.items()))), 0.0)


def test_each_instance_has_its_own_registry_and_none_touches_the_global_one() -> None:
    first, second = (
        ExportMetrics(),
        ExportMetrics(),
    )  # would raise "Duplicated timeseries" if shared
    first.meter("orders", "csv").sent(10)
    assert value(first, "exporter_export_bytes_total", export="orders", format="csv") == 10
    assert value(second, "exporter_export_bytes_total", export="orders", format="csv") == 0
    global_names = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("exporter_") for name in global_names)


def test_a_meter_follows_one_export_from_start_to_end() -> None:
    metrics = ExportMetrics()
    labels = {"export": "orders", "format": "parquet"}
    meter = metrics.meter("orders", "parquet")
    meter.started()
    assert value(metrics, "exporter_exports_in_flight", **labels) == 1
    meter.first_byte(0.02)
    meter.sent(100)
    meter.sent(50)
    meter.ended(outcome="failed", cause="database_lost", rows=7, duration_s=3.0, responded=True)
    assert value(metrics, "exporter_exports_in_flight", **labels) == 0
    assert value(metrics, "exporter_export_rows_total", **labels) == 7
    assert value(metrics, "exporter_export_bytes_total", **labels) == 150
    assert (
        value(metrics, "exporter_export_time_to_first_byte_seconds_bucket", le="0.025", **labels)
        == 1
    )
    assert (
        value(metrics, "exporter_export_time_to_first_byte_seconds_bucket", le="0.01", **labels)
        == 0
    )
    assert value(metrics, "exporter_export_duration_seconds_sum", **labels) == 3.0
    assert (
        value(metrics, "exporter_exports_total", outcome="failed", cause="database_lost", **labels)
        == 1
    )


def test_a_refused_export_counts_no_duration() -> None:
    metrics = ExportMetrics()
    meter = metrics.meter("orders", "csv")
    meter.started()
    meter.ended(
        outcome="rejected", cause="database_unavailable", rows=0, duration_s=2.0, responded=False
    )
    assert (
        value(metrics, "exporter_export_duration_seconds_count", export="orders", format="csv") == 0
    )
    metrics.count_outcome("", "", "rejected", "unknown_export")
    assert value(metrics, "exporter_exports_total", export="", format="", outcome="rejected",
                 cause="unknown_export") == 1  # fmt: skip


def test_declared_series_exist_at_zero() -> None:
    metrics = ExportMetrics()
    metrics.declare(["a", "b"], ["csv", "arrow"])
    rows = {k for k in samples(metrics) if k[0] == "exporter_export_rows_total"}
    assert len(rows) == 4
    assert value(metrics, "exporter_exports_total", export="b", format="arrow",
                 outcome="completed", cause="") == 0  # fmt: skip


def test_pool_gauges_are_read_at_each_scrape() -> None:
    metrics = ExportMetrics()
    stats = {"size": 2, "in_use": 1, "idle": 1, "lost": 0, "max": 10, "waiting": 0}
    metrics.watch_pool(lambda: stats)
    assert value(metrics, "exporter_db_pool_connections_in_use") == 1
    stats.update(in_use=2, idle=0, waiting=5)
    assert value(metrics, "exporter_db_pool_connections_in_use") == 2
    assert value(metrics, "exporter_db_pool_waiting_requests") == 5
    assert value(metrics, "exporter_db_pool_connections_max") == 10
    assert value(metrics, "exporter_db_pool_connections_lost") == 0
    stats.update(in_use=3, size=2, lost=1)  # a holder gone without giving its connection back
    assert value(metrics, "exporter_db_pool_connections_lost") == 1
    assert value(metrics, "exporter_db_pool_connections_in_use") == 3
