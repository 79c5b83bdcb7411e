"""The job table against the real PostgreSQL: migrations, claiming, leases, cancellation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from exporter.jobs.model import JobSpec, JobState
from exporter.jobs.schema import MIGRATIONS, migrate
from exporter.jobs.store import JobStore

SPEC = JobSpec(export="numbers", params={"rows": "10"}, format="csv", compression="none")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[JobStore]:
    schema = f"jobs_store_{uuid.uuid4().hex[:8]}"
    opened = await JobStore.open(database_url, schema=schema, application_name="jobs-test")
    try:
        yield opened
    finally:
        await opened.pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await opened.close()


async def _submit(store: JobStore, n: int = 1, max_attempts: int = 3) -> list[uuid.UUID]:
    ids = []
    for _ in range(n):
        job = await store.submit(SPEC, owner=None, max_attempts=max_attempts, file_name="f.csv")
        ids.append(job.id)
    return ids


async def test_migrations_run_once_and_are_idempotent(database_url: str) -> None:
    schema = f"jobs_migrate_{uuid.uuid4().hex[:8]}"
    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        # Three replicas starting at once: the advisory lock serializes them.
        versions = await asyncio.gather(*(migrate(c, schema) for c in conns))
        assert versions == [MIGRATIONS[-1][0]] * 3
        rows = await conns[0].fetchval(f'SELECT count(*) FROM "{schema}".schema_version')
        assert rows == len(MIGRATIONS)
    finally:
        await conns[0].execute(f'DROP SCHEMA "{schema}" CASCADE')
        for c in conns:
            await c.close()


async def test_competing_workers_never_claim_the_same_job(store: JobStore) -> None:
    submitted = set(await _submit(store, 30))

    async def drain(worker: str) -> list[uuid.UUID]:
        claimed = []
        while job := await store.claim(worker, lease_s=60):
            claimed.append(job.id)
            await asyncio.sleep(0)  # let the other workers in between claims
        return claimed

    results = await asyncio.gather(*(drain(f"w{i}") for i in range(4)))
    everything = [job_id for claimed in results for job_id in claimed]
    assert sorted(everything) == sorted(submitted)  # each exactly once
    assert sum(1 for claimed in results if claimed) >= 2  # really concurrent


async def test_claim_takes_the_oldest_first_and_counts_attempts(store: JobStore) -> None:
    first, second = await _submit(store, 2)
    job = await store.claim("w", lease_s=60)
    assert job is not None and job.id == first
    assert job.state is JobState.RUNNING and job.attempts == 1 and job.started_at is not None
    following = await store.claim("w", lease_s=60)
    assert following is not None and following.id == second
    assert await store.claim("w", lease_s=60) is None


async def test_a_lapsed_lease_requeues_until_attempts_run_out(store: JobStore) -> None:
    (job_id,) = await _submit(store, max_attempts=2)
    for attempt in (1, 2):
        job = await store.claim("dead-worker", lease_s=0.05)
        assert job is not None and job.id == job_id and job.attempts == attempt
        await asyncio.sleep(0.1)
        (lapsed,) = await store.reap_lapsed()
        assert lapsed.id == job_id
        assert lapsed.state is (JobState.QUEUED if attempt == 1 else JobState.FAILED)
    job = await store.get(job_id)
    assert job is not None and job.state is JobState.FAILED
    assert "worker lost" in (job.error or "") and "attempt 2 of 2" in (job.error or "")
    assert job.finished_at is not None
    # The dead worker waking up cannot claim the result as its own.
    assert await store.heartbeat(job_id, "dead-worker", lease_s=1, rows=1, bytes_written=1) is None
    assert not await store.succeed(
        job_id, "dead-worker", rows=1, file_path="x", file_bytes=1, file_sha256="0", ttl_s=60
    )


async def test_a_live_lease_is_not_reaped(store: JobStore) -> None:
    await _submit(store)
    job = await store.claim("w", lease_s=60)
    assert job is not None
    assert await store.reap_lapsed() == []
    assert await store.heartbeat(job.id, "w", lease_s=60, rows=5, bytes_written=50) is False
    current = await store.get(job.id)
    assert current is not None and (current.rows, current.bytes) == (5, 50)


async def test_cancel_queued_now_and_running_through_the_worker(store: JobStore) -> None:
    queued, running = await _submit(store, 2)
    claimed = await store.claim("w", lease_s=60)
    assert claimed is not None and claimed.id == queued  # oldest first
    # Swap roles: cancel the other one while it is still queued.
    cancelled = await store.request_cancel(running)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    assert await store.claim("w2", lease_s=60) is None  # a cancelled job is never claimed
    flagged = await store.request_cancel(queued)
    assert flagged is not None and flagged.state is JobState.RUNNING and flagged.cancel_requested
    assert await store.heartbeat(queued, "w", lease_s=60, rows=0, bytes_written=0) is True
    # A worker finishing at the last moment does not override the cancellation.
    assert not await store.succeed(
        queued, "w", rows=1, file_path="x", file_bytes=1, file_sha256="0", ttl_s=60
    )


async def test_release_gives_back_the_attempt_on_shutdown(store: JobStore) -> None:
    (job_id,) = await _submit(store, max_attempts=1)
    await store.claim("w", lease_s=60)
    state = await store.release(job_id, "w", reason="shutdown", attempt_used=False)
    assert state is JobState.QUEUED
    job = await store.claim("w2", lease_s=60)
    assert job is not None and job.attempts == 1
    state = await store.release(job_id, "w2", reason="database lost", attempt_used=True)
    assert state is JobState.FAILED  # its only attempt was used


async def test_files_expire_after_their_ttl(store: JobStore) -> None:
    (job_id,) = await _submit(store)
    await store.claim("w", lease_s=60)
    assert await store.succeed(
        job_id, "w", rows=3, file_path="a.csv", file_bytes=10, file_sha256="ab", ttl_s=1
    )
    assert await store.expire_files() == []
    await asyncio.sleep(1.1)
    assert await store.expire_files() == ["a.csv"]
    job = await store.get(job_id)
    assert job is not None and job.file_status.value == "expired"
    assert await store.expire_files() == []  # once
