"""The job table, created and migrated by the service itself.

Migrations are numbered and only ever appended. Replicas starting together serialize on an
advisory lock, so each migration runs exactly once.
"""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

#: (version, SQL); ``{schema}`` is the configured schema, a validated plain identifier.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE {schema}.jobs (
            id uuid PRIMARY KEY,
            export text NOT NULL,
            params jsonb NOT NULL,
            format text NOT NULL,
            compression text NOT NULL,
            owner text,
            state text NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            attempts integer NOT NULL DEFAULT 0,
            max_attempts integer NOT NULL,
            cancel_requested boolean NOT NULL DEFAULT false,
            worker text,
            lease_expires_at timestamptz,
            rows bigint NOT NULL DEFAULT 0,
            bytes bigint NOT NULL DEFAULT 0,
            error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            finished_at timestamptz,
            file_name text NOT NULL,
            file_path text,
            file_status text NOT NULL DEFAULT 'none'
                CHECK (file_status IN ('none', 'available', 'expired', 'deleted')),
            file_bytes bigint,
            file_sha256 text,
            expires_at timestamptz
        );
        -- Workers claim the oldest queued job; reapers look for lapsed leases and old files.
        CREATE INDEX jobs_queued ON {schema}.jobs (created_at) WHERE state = 'queued';
        CREATE INDEX jobs_running ON {schema}.jobs (lease_expires_at) WHERE state = 'running';
        CREATE INDEX jobs_files ON {schema}.jobs (expires_at) WHERE file_status = 'available';
        CREATE INDEX jobs_recent ON {schema}.jobs (owner, created_at DESC);
        """,
    ),
    (
        2,
        # The Exporter-Watermark token a job of a watermark export ended with: the next
        # incremental pull (a job, a stream or the CLI) starts after it.
        "ALTER TABLE {schema}.jobs ADD COLUMN watermark text;",
    ),
)

#: Any constant works; it only has to be the same for every replica.
_MIGRATION_LOCK = 0x6578706F  # "expo"


async def migrate(conn: asyncpg.Connection | PoolConnectionProxy, schema: str) -> int:
    """Bring ``schema`` up to the newest migration; returns the version it is at."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_version (version integer NOT NULL)'
        )
        current = await conn.fetchval(f'SELECT max(version) FROM "{schema}".schema_version')
        current = current or 0
        for version, sql in MIGRATIONS:
            if version > current:
                await conn.execute(sql.format(schema=f'"{schema}"'))
                await conn.execute(
                    f'INSERT INTO "{schema}".schema_version (version) VALUES ($1)', version
                )
                current = version
        return int(current)
