"""The job worker under supervision: a run loop that dies is restarted with backoff, and says
why meanwhile (issue 19, High 2)."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest

from exporter.export.service import ExportService
from exporter.jobs.store import JobStore
from exporter.jobs.worker import JobWorker
from exporter.settings import Settings


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[JobStore]:
    schema = f"jobs_worker_{uuid.uuid4().hex[:8]}"
    opened = await JobStore.open(database_url, schema=schema, application_name="jobs-test")
    try:
        yield opened
    finally:
        await opened.pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await opened.close()


async def _poll(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    """Until ``condition`` holds (polled: the worker has no event to wait on)."""
    with anyio.fail_after(timeout_s):
        for _ in itertools.count():
            if condition():
                return
            await anyio.sleep(0.02)


async def test_a_dead_run_loop_is_restarted_and_reported(
    settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    jobs_dir = tmp_path / "jobs"
    jobs_dir.write_text("a file where the directory should be")
    service = await ExportService.start(dataclasses.replace(settings, jobs_dir=jobs_dir))
    try:
        worker = JobWorker(service, store)
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: worker.supervise(backoff_s=0.05, max_backoff_s=0.2))
            await _poll(lambda: worker.failure is not None)
            assert worker.failure is not None
            assert "the job worker stopped" in worker.failure
            assert "FileExistsError" in worker.failure
            jobs_dir.unlink()  # the operator fixes it: the next restart succeeds
            await _poll(lambda: worker.failure is None)
            assert jobs_dir.is_dir()
            group.cancel_scope.cancel()
    finally:
        await service.close()
