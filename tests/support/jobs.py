"""Submitting jobs to a live server and waiting for them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest


def submit(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/jobs", json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/jobs/{response.json()['id']}"
    job: dict[str, Any] = response.json()
    return job


def wait_for(
    client: httpx.Client,
    job_id: str,
    until: Callable[[dict[str, Any]], bool],
    within_s: float = 30,
) -> dict[str, Any]:
    """Poll the job until ``until(job)``; fails after ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if until(job):
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job never got there; last seen: {job}")
        time.sleep(0.05)


def finished(job: dict[str, Any]) -> bool:
    return job["state"] in ("succeeded", "failed", "cancelled")
