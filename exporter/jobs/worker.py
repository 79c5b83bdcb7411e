"""The job worker: claims queued jobs, runs each into a file, and keeps its lease alive.

One per replica, started by the service's lifespan. Besides running jobs it reaps jobs whose
worker died (lease lapsed) and removes files past their retention, on every poll: any live
replica cleans up after a dead one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import anyio
import anyio.abc

from exporter.catalog.params import scrub_secrets, secret_values
from exporter.compression import codec_named
from exporter.db.failures import DRIVER_ERRORS
from exporter.encoders import FORMATS
from exporter.errors import ExporterError, RetryLater
from exporter.export.pipeline import StreamStats
from exporter.export.service import ExportService
from exporter.files.atomic import AtomicFile, temporary_files_for
from exporter.files.writing import FileResult, export_to_file
from exporter.jobs.metrics import JobMetrics
from exporter.jobs.model import Job, JobState
from exporter.jobs.store import JobStore

log = logging.getLogger("exporter.jobs")


def job_file_path(jobs_dir: Path, job: Job) -> Path:
    """Where this attempt of ``job`` writes: each attempt has its own name, so a stalled
    worker that lost its lease can never overwrite or delete the file of the attempt that
    replaced it."""
    output = FORMATS[job.spec.format]
    codec = codec_named(job.spec.compression)
    suffix = f".{output.extension}{codec.file_suffix if codec else ''}"
    return jobs_dir / f"{job.id}-{job.attempts}{suffix}"


@dataclass(slots=True)
class _Progress:
    stats: StreamStats = field(default_factory=StreamStats)
    file: AtomicFile | None = None

    @property
    def bytes_written(self) -> int:
        return self.file.size_bytes if self.file else 0


class JobWorker:
    """Runs up to ``jobs_concurrency`` jobs of this replica at once."""

    def __init__(
        self, service: ExportService, store: JobStore, metrics: JobMetrics | None = None
    ) -> None:
        settings = service.settings
        self.service = service
        self.store = store
        self.metrics = metrics
        self.jobs_dir = settings.jobs_dir
        self.slots = settings.jobs_concurrency
        self.lease_s = settings.job_lease_s
        self.heartbeat_s = settings.job_heartbeat_s
        self.poll_s = settings.jobs_poll_s
        self.file_ttl_s = settings.job_file_ttl_s
        self.connection_wait_s = settings.job_connection_wait_s
        #: When each job first found the pool exhausted, while it keeps finding it so.
        self._starved_since_s: dict[UUID, float] = {}
        #: Unique per process and start: a restarted replica never mistakes old jobs for its own.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.running: set[UUID] = set()
        self._wake = anyio.Event()
        self._stopping = False
        #: Why the run loop last died, while it waits to be restarted (``supervise``).
        self.failure: str | None = None

    def wake(self) -> None:
        """Look for queued jobs now (a job was just submitted, or a slot freed)."""
        self._wake.set()

    async def supervise(self, *, backoff_s: float = 1.0, max_backoff_s: float = 60.0) -> None:
        """``run``, restarted with exponential backoff whenever it dies, until cancelled.

        A dead worker must never leave a process that looks healthy and runs no job: while it
        waits to restart, ``failure`` says why (``/readyz`` answers 503 with it).
        """
        delay_s = backoff_s
        while True:
            started_s = time.monotonic()
            try:
                await self.run()
            except Exception as exc:
                self.failure = f"the job worker stopped: {type(exc).__name__}: {exc}"
                if time.monotonic() - started_s > max_backoff_s:
                    delay_s = backoff_s  # it ran fine for a while: a new failure
                log.error("%s; restarting in %g s", self.failure, delay_s, exc_info=exc)
                await anyio.sleep(delay_s)
                delay_s = min(delay_s * 2, max_backoff_s)

    async def run(self) -> None:
        """Claim and run jobs until cancelled; running jobs are then handed back to the queue."""
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        try:
            async with anyio.create_task_group() as group:
                while True:
                    await self._housekeeping()
                    self.failure = None  # alive: it got through a round
                    await self._claim_into(group)
                    with anyio.move_on_after(self.poll_s):
                        await self._wake.wait()
                    self._wake = anyio.Event()
        finally:
            self._stopping = True

    async def _claim_into(self, group: anyio.abc.TaskGroup) -> None:
        while len(self.running) < self.slots:
            try:
                job = await self.store.claim(self.worker_id, lease_s=self.lease_s)
            except DRIVER_ERRORS as exc:
                log.warning("cannot claim jobs: %s", exc)
                return
            if job is None:
                return
            self.running.add(job.id)
            self._count_running()
            group.start_soon(self._run_job, job)

    async def _housekeeping(self) -> None:
        try:
            for lapsed in await self.store.reap_lapsed():
                log.warning("job %s: its worker was lost; now %s", lapsed.id, lapsed.state)
                for leftover in temporary_files_for(self.jobs_dir / f"{lapsed.id}-*"):
                    leftover.unlink(missing_ok=True)
            for name in await self.store.expire_files():
                (self.jobs_dir / name).unlink(missing_ok=True)
            if self.metrics is not None:
                self.metrics.queue_counts = await self.store.count_active()
        except DRIVER_ERRORS as exc:
            log.warning("job housekeeping failed: %s", exc)

    async def _run_job(self, job: Job) -> None:
        progress = _Progress()
        job_scope = anyio.CancelScope()
        stop_reason: list[str] = []  # set by the heartbeat: "cancelled" or "lease lost"
        result: FileResult | None = None
        started_s = time.monotonic()
        log.info("job %s: started %s (attempt %d)", job.id, job.spec.export, job.attempts)
        try:
            with job_scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(self._heartbeat, job, progress, job_scope, stop_reason)
                    result = await self._export(job, progress)
                    group.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._release(job, "the service shut down mid-job", attempt_used=False)
            raise
        except Exception as exc:
            await self._record_failure(job, _sole_failure(exc), progress)
            return
        finally:
            self.running.discard(job.id)
            self._count_running()
            self.wake()
        elapsed_s = time.monotonic() - started_s
        if result is not None:
            self._starved_since_s.pop(job.id, None)
            await self._record_success(job, result, elapsed_s, progress.stats.watermark)
        elif stop_reason == ["cancelled"]:
            await self._end(job, JobState.CANCELLED, "cancelled on request", progress)
        else:
            log.warning("job %s: lost its lease; another worker owns it now", job.id)

    async def _export(self, job: Job, progress: _Progress) -> FileResult:
        request = self.service.bind(job.spec.export, job.spec.request_items())
        output = FORMATS[job.spec.format]

        def on_open(file: AtomicFile) -> None:
            progress.file = file

        return await export_to_file(
            self.service,
            request,
            output,
            job_file_path(self.jobs_dir, job),
            codec=codec_named(job.spec.compression),
            stats=progress.stats,
            on_open=on_open,
            mode=self.service.settings.file_mode_bits,
        )

    async def _heartbeat(
        self, job: Job, progress: _Progress, job_scope: anyio.CancelScope, stop_reason: list[str]
    ) -> None:
        last_renewed_s = time.monotonic()
        while True:
            await anyio.sleep(self.heartbeat_s)
            try:
                cancel_requested = await self.store.heartbeat(
                    job.id,
                    self.worker_id,
                    lease_s=self.lease_s,
                    rows=progress.stats.rows,
                    bytes_written=progress.bytes_written,
                )
            except DRIVER_ERRORS as exc:
                if time.monotonic() - last_renewed_s < self.lease_s:
                    log.warning("job %s: heartbeat failed (%s); retrying", job.id, exc)
                    continue
                cancel_requested = None  # the lease has lapsed by now: stop
            if cancel_requested is None or cancel_requested:
                stop_reason.append("cancelled" if cancel_requested else "lease lost")
                job_scope.cancel()
                return
            last_renewed_s = time.monotonic()

    async def _record_success(
        self, job: Job, result: FileResult, elapsed_s: float, watermark: str | None
    ) -> None:
        try:
            recorded = await self.store.succeed(
                job.id,
                self.worker_id,
                rows=result.rows,
                file_path=result.path.name,
                file_bytes=result.size_bytes,
                file_sha256=result.sha256,
                ttl_s=self.file_ttl_s,
                watermark=watermark,
            )
        except DRIVER_ERRORS as exc:
            # Unrecorded, the file would never be served; the lease lapses and a worker
            # retries the job.
            log.error("job %s: finished but could not be recorded (%s)", job.id, exc)
            recorded = False
        if not recorded:
            result.path.unlink(missing_ok=True)
            with contextlib.suppress(*DRIVER_ERRORS):
                current = await self.store.get(job.id)
                if current and current.cancel_requested and current.state is JobState.RUNNING:
                    await self.store.end(job.id, self.worker_id, JobState.CANCELLED,
                                         error="cancelled on request")  # fmt: skip
            return
        log.info(
            "job %s: succeeded, %d rows, %d bytes in %.1f s",
            job.id, result.rows, result.size_bytes, elapsed_s,
        )  # fmt: skip
        self._count_ended(job, JobState.SUCCEEDED, result.rows, elapsed_s)

    async def _record_failure(self, job: Job, exc: Exception, progress: _Progress) -> None:
        if isinstance(exc, RetryLater) and not exc.costs_attempt:
            await self._wait_for_a_connection(job, exc, progress)
            return
        self._starved_since_s.pop(job.id, None)
        if isinstance(exc, RetryLater):
            # The database went away: not the job's fault; it gets another attempt.
            state = await self._release(job, f"database lost: {exc}", attempt_used=True)
            log.warning("job %s: database lost (%s); now %s", job.id, exc, state)
            return
        if isinstance(exc, ExporterError):  # Rejected or ExportFailed: no retry helps
            reason = str(exc)
        elif isinstance(exc, OSError):
            reason = f"writing the file failed: {exc}"
        else:
            log.exception("job %s: unexpected failure", job.id, exc_info=exc)
            reason = f"internal error: {exc!r}"
        reason = scrub_secrets(reason, self._secrets(job))
        log.error("job %s: failed after %d rows: %s", job.id, progress.stats.rows, reason)
        await self._end(job, JobState.FAILED, reason, progress)

    async def _wait_for_a_connection(self, job: Job, exc: RetryLater, progress: _Progress) -> None:
        """Streams hold every connection: the job waits its turn without using an attempt,
        but not forever (a pool that lost its connections never frees one)."""
        starved_since_s = self._starved_since_s.setdefault(job.id, time.monotonic())
        starved_s = time.monotonic() - starved_since_s
        if starved_s < self.connection_wait_s:
            await self._release(job, f"waiting for a connection: {exc}", attempt_used=False)
            log.warning("job %s: no free connection; back in the queue", job.id)
            return
        self._starved_since_s.pop(job.id, None)
        reason = (
            f"no database connection became free for {starved_s:.0f} s "
            "(EXPORTER_JOB_CONNECTION_WAIT); see /readyz for the pool"
        )
        log.error("job %s: failed: %s", job.id, reason)
        await self._end(job, JobState.FAILED, reason, progress)

    async def _end(self, job: Job, state: JobState, error: str, progress: _Progress) -> None:
        try:
            ended = await self.store.end(
                job.id,
                self.worker_id,
                state,
                error=error,
                rows=progress.stats.rows,
                bytes_written=progress.bytes_written,
            )
        except DRIVER_ERRORS as exc:
            log.error("job %s: could not record %s (%s)", job.id, state, exc)
            return
        if ended:
            self._count_ended(job, state, progress.stats.rows)

    async def _release(self, job: Job, reason: str, *, attempt_used: bool) -> JobState | None:
        try:
            state = await self.store.release(
                job.id, self.worker_id, reason=reason, attempt_used=attempt_used
            )
        except DRIVER_ERRORS as exc:
            # The lease will lapse and another worker will reap the job.
            log.error("job %s: could not hand the job back (%s)", job.id, exc)
            return None
        if state is not None and state.finished:
            self._count_ended(job, state, 0)
        return state

    def _secrets(self, job: Job) -> list[str]:
        """The job's sensitive values: never in its recorded error or the log."""
        export = self.service.catalog.get(job.spec.export)
        if export is None:
            return [value for value in job.spec.params.values() if value]
        return secret_values(export, job.spec.params.items())

    def _count_running(self) -> None:
        if self.metrics is not None:
            self.metrics.running_here.set(len(self.running))

    def _count_ended(
        self, job: Job, state: JobState, rows: int, duration_s: float | None = None
    ) -> None:
        if self.metrics is not None:
            self.metrics.job_ended(
                job.spec.export, job.spec.format, state.value, rows=rows, duration_s=duration_s
            )


def _sole_failure(exc: Exception) -> Exception:
    """The export's own error out of the task group's ExceptionGroup wrapping."""
    while isinstance(exc, ExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
