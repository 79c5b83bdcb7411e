"""Reading a live server's /metrics in tests."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import LiveServer


def metric(server: LiveServer, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    text = httpx.get(server.base_url + "/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def wait_for_metric(
    server: LiveServer, name: str, expected: float, within_s: float = 5.0, **labels: str
) -> float:
    deadline = time.monotonic() + within_s
    while (value := metric(server, name, **labels)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return value
