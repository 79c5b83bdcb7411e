"""The database boundary: the only package (with ``jobs.store``/``jobs.schema``) that imports
asyncpg.

- ``connections``: the pool, connection set-up, the checkout ledger and giving connections back.
- ``snapshot``: one export's read-only snapshot, read through a cursor or COPY.
- ``watermarks``: an incremental pull's facts: the watermark's maximum, open transactions.
- ``failures``: driver errors translated into the exporter's own, and the SQLSTATE knowledge.
- ``describe``: each export's result columns and parameter types, from PREPARE.
- ``embedded``: the embedded PostgreSQL used when no ``DATABASE_URL`` is given.
- ``demo``: the demo schema and data.
"""

__all__ = ["connections", "demo", "describe", "embedded", "failures", "snapshot", "watermarks"]
