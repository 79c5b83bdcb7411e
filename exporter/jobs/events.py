"""Following a job: its snapshots as they change, until it finishes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from uuid import UUID

import anyio

from exporter.jobs.model import Job
from exporter.jobs.store import JobStore

#: How often a follower reads the job row. The worker records progress every
#: ``EXPORTER_JOB_HEARTBEAT``; reading the row (not an in-process feed) lets a watcher on any
#: replica follow a job running on any other.
FOLLOW_POLL_S = 0.25


async def follow_job(
    store: JobStore, job_id: UUID, *, quiet_s: float | None = None
) -> AsyncIterator[tuple[str, Job]]:
    """Yield ``("state", job)`` or ``("progress", job)`` on each change; the first snapshot
    is a "state" event, and the iteration ends after the job finishes.

    With ``quiet_s``, ``("quiet", job)`` comes after that long without a change (a stream
    can send a keep-alive).
    """
    previous: Job | None = None
    last_event_s = time.monotonic()
    while True:
        job = await store.get(job_id)
        if job is None:
            return
        if previous is None or _changed(previous, job):
            kind = "state" if previous is None or previous.state != job.state else "progress"
            yield kind, job
            previous = job
            last_event_s = time.monotonic()
        elif quiet_s is not None and time.monotonic() - last_event_s >= quiet_s:
            yield "quiet", job
            last_event_s = time.monotonic()
        if job.state.finished:
            return
        await anyio.sleep(FOLLOW_POLL_S)


def _changed(before: Job, after: Job) -> bool:
    return (before.state, before.rows, before.bytes, before.cancel_requested) != (
        after.state, after.rows, after.bytes, after.cancel_requested,
    )  # fmt: skip
