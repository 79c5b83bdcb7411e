"""What an incremental pull may safely send: the watermark's maximum, and who still writes.

Read in two autocommit statements, before the export's own snapshot is taken:

1. ``max(w)`` over the export's query, with ``clock_timestamp()`` (``taken_at``, at or after
   that statement's snapshot);
2. the oldest ``xact_start`` among the database's other client transactions still open
   (``pg_stat_activity``), compared with ``taken_at`` and with an earlier pull's candidate.

A transaction open at statement 1's snapshot may still commit rows whose watermark is below
the maximum (a sequence value or ``now()`` is taken at insert, not at commit): that is the
classic loss of incremental pulls. ``exporter.export.watermarks`` decides from these facts
which upper bound is safe; see docs/bi.md for the reasoning and the guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from exporter.catalog.definitions import WATERMARK_TYPES, ExportDefinition
from exporter.catalog.shaping import quote_identifier
from exporter.db.connections import PoolLedger, acquire, release_connection
from exporter.db.failures import Phase, translate_errors

__all__ = ["Horizon", "read_horizon"]

_OLDEST_OPEN = """
SELECT min(xact_start) AS o FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend' AND xact_start IS NOT NULL
  AND application_name IS DISTINCT FROM $1::text
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Horizon:
    """The facts a pull's upper bound is decided from (all values as PostgreSQL's text)."""

    #: ``max(w)`` over the export's rows; None: no row has a watermark.
    maximum: str | None
    #: ``clock_timestamp()`` when the maximum was read (at or after its snapshot).
    taken_at: str
    #: Every transaction open when the maximum was read has ended since.
    settled: bool
    #: Every transaction open when the earlier ``candidate_taken_at`` was read has ended.
    candidate_settled: bool


async def read_horizon(
    pool: asyncpg.Pool,
    export: ExportDefinition,
    values: Sequence[str],
    *,
    candidate_taken_at: str | None,
    own_application_name: str,
    acquire_timeout_s: float,
    ledger: PoolLedger,
) -> Horizon:
    """Read the watermark's maximum and the open transactions (see the module docstring).

    ``candidate_taken_at``: when an earlier pull read the maximum it proposed as its bound.

    The service's own sessions (``own_application_name``) only read, so they are left out.
    """
    column = export.watermark_column
    assert column is not None
    assert column.pg_type in WATERMARK_TYPES
    target = f"e.{quote_identifier(column.name)}"
    conn = await acquire(pool, acquire_timeout_s, ledger)
    try:
        with translate_errors(export.name, Phase.OPENING):
            taken = await conn.fetchrow(
                f"SELECT max({target})::text, clock_timestamp()::text FROM (\n{export.sql}) AS e",
                *values,
            )
            assert taken is not None  # an aggregate without GROUP BY returns one row
            maximum, taken_at = taken
            row = await conn.fetchrow(
                "SELECT o IS NULL OR o >= $2::text::timestamptz,"
                f" o IS NULL OR o >= $3::text::timestamptz FROM ({_OLDEST_OPEN}) AS a",
                own_application_name,
                taken_at,
                candidate_taken_at,
            )
    finally:
        await release_connection(pool, conn, ledger=ledger)
    assert row is not None  # a one-row subquery
    settled, candidate_settled = row
    return Horizon(
        maximum=maximum,
        taken_at=taken_at,
        settled=_true(settled),
        candidate_settled=_true(candidate_settled) and candidate_taken_at is not None,
    )


def _true(value: object) -> bool:
    # The service's connections return every value as PostgreSQL's text: a boolean is "t".
    return value in ("t", True)
