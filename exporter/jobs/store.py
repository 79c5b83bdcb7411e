"""Job state in PostgreSQL: submit, claim (``FOR UPDATE SKIP LOCKED``), lease, finish.

Every state change a worker makes is conditional on it still holding the job (same worker,
still running): a worker that lost its lease (it stalled, another replica took over) cannot
overwrite what happened since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson

from exporter.jobs.model import FileStatus, Job, JobSpec, JobState
from exporter.jobs.schema import migrate

_STATE_COLUMNS = """
    id, export, params, format, compression, owner, state, attempts, max_attempts,
    cancel_requested, rows, bytes, error, created_at, started_at, finished_at,
    file_name, file_path, file_status, file_bytes, file_sha256, expires_at, watermark
"""


@dataclass(frozen=True, slots=True)
class LapsedJob:
    """A job whose worker stopped renewing its lease, and what the reaper made of it."""

    id: UUID
    state: JobState
    attempts: int


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
    )


class JobStore:
    """The job table of one schema, through a small pool of its own (read-write)."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".jobs'

    @classmethod
    async def open(cls, dsn: str, *, schema: str, application_name: str) -> JobStore:
        """Connect and migrate the job table."""
        pool: asyncpg.Pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=4,
            init=_init_connection,
            server_settings={"application_name": application_name},
            # Named (cached) statements break behind PgBouncer in transaction mode: the next
            # transaction may run on a server connection that never prepared them.
            statement_cache_size=0,
        )
        try:
            async with pool.acquire() as conn:
                await migrate(conn, schema)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, schema)

    async def close(self) -> None:
        await self.pool.close()

    async def submit(
        self, spec: JobSpec, *, owner: str | None, max_attempts: int, file_name: str
    ) -> Job:
        """Queue a job; ``file_name`` is what its download will be called."""
        job_id = uuid4()
        record = await self.pool.fetchrow(
            f"""
            INSERT INTO {self.table}
                (id, export, params, format, compression, owner, max_attempts, file_name)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING {_STATE_COLUMNS}
            """,
            job_id, spec.export, dict(spec.params), spec.format, spec.compression, owner,
            max_attempts, file_name,
        )  # fmt: skip
        return _job(record)

    async def get(self, job_id: UUID) -> Job | None:
        record = await self.pool.fetchrow(
            f"SELECT {_STATE_COLUMNS} FROM {self.table} WHERE id = $1", job_id
        )
        return _job(record) if record else None

    async def list_recent(self, *, owner: str | None, limit: int) -> list[Job]:
        """The newest jobs first; only ``owner``'s when one is given."""
        records = await self.pool.fetch(
            f"""
            SELECT {_STATE_COLUMNS} FROM {self.table}
            WHERE $1::text IS NULL OR owner = $1
            ORDER BY created_at DESC LIMIT $2
            """,
            owner,
            limit,
        )
        return [_job(r) for r in records]

    async def request_cancel(self, job_id: UUID) -> Job | None:
        """Cancel a queued job now; flag a running one for its worker (who stops it)."""
        record = await self.pool.fetchrow(
            f"""
            UPDATE {self.table} SET
                cancel_requested = cancel_requested OR state IN ('queued', 'running'),
                finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END,
                state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END
            WHERE id = $1
            RETURNING {_STATE_COLUMNS}
            """,
            job_id,
        )
        return _job(record) if record else None

    async def remove_file(self, job_id: UUID, status: FileStatus) -> str | None:
        """Mark an available file expired or deleted; returns its path to unlink."""
        path: str | None = await self.pool.fetchval(
            f"""
            UPDATE {self.table} SET file_status = $2
            WHERE id = $1 AND file_status = 'available' RETURNING file_path
            """,
            job_id,
            status.value,
        )
        return path

    async def claim(self, worker: str, *, lease_s: float) -> Job | None:
        """Take the oldest queued job, if any; another worker never gets the same one."""
        record = await self.pool.fetchrow(
            f"""
            UPDATE {self.table} SET
                state = 'running', worker = $1, attempts = attempts + 1,
                lease_expires_at = now() + make_interval(secs => $2),
                started_at = coalesce(started_at, now()), rows = 0, bytes = 0, error = NULL
            WHERE id = (
                SELECT id FROM {self.table} WHERE state = 'queued'
                ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
            )
            RETURNING {_STATE_COLUMNS}
            """,
            worker,
            lease_s,
        )
        return _job(record) if record else None

    async def heartbeat(
        self, job_id: UUID, worker: str, *, lease_s: float, rows: int, bytes_written: int
    ) -> bool | None:
        """Record progress and renew the lease. Returns whether cancellation was requested,
        or None if this worker no longer holds the job."""
        cancel_requested: bool | None = await self.pool.fetchval(
            f"""
            UPDATE {self.table} SET
                lease_expires_at = now() + make_interval(secs => $3), rows = $4, bytes = $5
            WHERE id = $1 AND worker = $2 AND state = 'running'
            RETURNING cancel_requested
            """,
            job_id, worker, lease_s, rows, bytes_written,
        )  # fmt: skip
        return cancel_requested

    async def succeed(
        self,
        job_id: UUID,
        worker: str,
        *,
        rows: int,
        file_path: str,
        file_bytes: int,
        file_sha256: str,
        ttl_s: float,
        watermark: str | None = None,
    ) -> bool:
        """Record the published file; False if the job is no longer this worker's to finish
        (lease lost, or cancelled at the last moment)."""
        done = await self.pool.fetchval(
            f"""
            UPDATE {self.table} SET
                state = 'succeeded', finished_at = now(), worker = NULL, lease_expires_at = NULL,
                rows = $3, bytes = $4, file_bytes = $4, file_sha256 = $5, file_path = $7,
                file_status = 'available', expires_at = now() + make_interval(secs => $6),
                watermark = $8
            WHERE id = $1 AND worker = $2 AND state = 'running' AND NOT cancel_requested
            RETURNING true
            """,
            job_id, worker, rows, file_bytes, file_sha256, ttl_s, file_path, watermark,
        )  # fmt: skip
        return bool(done)

    async def end(
        self,
        job_id: UUID,
        worker: str,
        state: JobState,
        *,
        error: str | None = None,
        rows: int = 0,
        bytes_written: int = 0,
    ) -> bool:
        """Finish the job as failed or cancelled (if this worker still holds it)."""
        done = await self.pool.fetchval(
            f"""
            UPDATE {self.table} SET
                state = $3, error = $4, rows = $5, bytes = $6, finished_at = now(),
                worker = NULL, lease_expires_at = NULL
            WHERE id = $1 AND worker = $2 AND state = 'running'
            RETURNING true
            """,
            job_id, worker, state.value, error, rows, bytes_written,
        )  # fmt: skip
        return bool(done)

    async def release(
        self, job_id: UUID, worker: str, *, reason: str, attempt_used: bool
    ) -> JobState | None:
        """Give a running job back to the queue, or fail it if its attempts are used up.

        ``attempt_used`` False (a clean shutdown, not the job's fault) gives the attempt back.
        Returns the new state, or None if this worker no longer held the job.
        """
        state: str | None = await self.pool.fetchval(
            f"""
            UPDATE {self.table} SET
                attempts = attempts - $4,
                state = CASE
                    WHEN cancel_requested THEN 'cancelled'
                    WHEN attempts - $4 < max_attempts THEN 'queued'
                    ELSE 'failed' END,
                finished_at = CASE
                    WHEN cancel_requested OR attempts - $4 >= max_attempts THEN now() END,
                error = $3, worker = NULL, lease_expires_at = NULL
            WHERE id = $1 AND worker = $2 AND state = 'running'
            RETURNING state
            """,
            job_id, worker, reason, 0 if attempt_used else 1,
        )  # fmt: skip
        return JobState(state) if state else None

    async def reap_lapsed(self) -> list[LapsedJob]:
        """Jobs whose worker died (lease lapsed): queued again, or failed/cancelled for good."""
        records = await self.pool.fetch(
            f"""
            UPDATE {self.table} SET
                state = CASE
                    WHEN cancel_requested THEN 'cancelled'
                    WHEN attempts < max_attempts THEN 'queued'
                    ELSE 'failed' END,
                finished_at = CASE
                    WHEN cancel_requested OR attempts >= max_attempts THEN now() END,
                error = 'worker lost: its lease lapsed at ' || lease_expires_at::text
                    || ' (attempt ' || attempts || ' of ' || max_attempts || ')',
                worker = NULL, lease_expires_at = NULL
            WHERE id IN (
                SELECT id FROM {self.table}
                WHERE state = 'running' AND lease_expires_at < now()
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id, state, attempts
            """
        )
        return [LapsedJob(r["id"], JobState(r["state"]), r["attempts"]) for r in records]

    async def expire_files(self) -> list[str]:
        """Mark files past their retention expired; returns their paths to unlink."""
        records = await self.pool.fetch(
            f"""
            UPDATE {self.table} SET file_status = 'expired'
            WHERE file_status = 'available' AND expires_at < now()
            RETURNING file_path
            """
        )
        return [r["file_path"] for r in records]

    async def count_active(self) -> dict[str, int]:
        """Jobs queued and running now, over every replica (each count reads a partial index)."""
        record = await self.pool.fetchrow(
            f"""
            SELECT (SELECT count(*) FROM {self.table} WHERE state = 'queued') AS queued,
                   (SELECT count(*) FROM {self.table} WHERE state = 'running') AS running
            """
        )
        assert record is not None  # a SELECT without FROM returns exactly one row
        return {"queued": int(record["queued"]), "running": int(record["running"])}


def _job(record: Any) -> Job:
    params: dict[str, str] = record["params"]
    return Job(
        id=record["id"],
        spec=JobSpec(
            export=record["export"],
            params=params,
            format=record["format"],
            compression=record["compression"],
        ),
        owner=record["owner"],
        state=JobState(record["state"]),
        attempts=record["attempts"],
        max_attempts=record["max_attempts"],
        cancel_requested=record["cancel_requested"],
        rows=record["rows"],
        bytes=record["bytes"],
        error=record["error"],
        created_at=record["created_at"],
        started_at=record["started_at"],
        finished_at=record["finished_at"],
        file_name=record["file_name"],
        file_path=record["file_path"],
        file_status=FileStatus(record["file_status"]),
        file_bytes=record["file_bytes"],
        file_sha256=record["file_sha256"],
        expires_at=record["expires_at"],
        watermark=record["watermark"],
    )
