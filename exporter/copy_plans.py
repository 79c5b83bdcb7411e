"""Formats PostgreSQL can produce itself with COPY, byte for byte what the encoders would.

CSV is by definition ``COPY ... (FORMAT csv, HEADER)``, and COPY hands it out faster than any
per-row path (benchmarks/README.md: 1.16x psql's own COPY on 5M rows).

NDJSON is deliberately not here. ``to_json`` of each row in a one-column CSV COPY (quote and
delimiter set to control characters, which JSON text never holds raw) is exact, but building
JSON costs PostgreSQL about 14 us a row: 70k rows/s against 116k for the cursor path with
orjson, measured in the same benchmark run.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CopyPlan:
    """How to get one format from COPY: the SELECT around the export's query, COPY options."""

    select: str
    options: dict[str, str | bool] = field(default_factory=dict)


COPY_PLANS: dict[str, CopyPlan] = {
    "csv": CopyPlan("{query}", {"format": "csv", "header": True}),
}
