"""Exports PostgreSQL's COPY can serve, per format and per export: decided here, in one place.

CSV is by definition ``COPY ... (FORMAT csv, HEADER)`` (with the request's ``DELIMITER`` and
``HEADER`` when it gives them), and COPY hands it out faster than any
per-row path (benchmarks/README.md: 1.16x psql's own COPY on 5M rows).

NDJSON, Arrow and Parquet read ``COPY ... (FORMAT text)``, which costs PostgreSQL about 20%
less CPU than CSV: Arrow's C++ CSV reader splits it into one string array per column and the
escapes are undone in bulk (``exporter.encoders.copy_text``); Arrow and Parquet type them with the
cursor path's converters, NDJSON turns them into JSON text with vectorized string kernels
(``exporter.encoders._json_columns``), into the cursor path's very bytes. No Python object is
built per row or per value (on the cursor path asyncpg builds a Record per row and a str per
value). Exports whose columns this cannot carry exactly stay on the cursor path (``copy_plan``):

- array columns: PostgreSQL's array text (``{a,"b c",NULL}``, nested braces for more
  dimensions) would need a parser of its own per value; the cursor path gets arrays decoded by
  asyncpg, and a multidimensional one must abort the export exactly as it does there;
- no columns at all: COPY then writes one empty line per row, nothing Arrow can tell apart.

NDJSON built by PostgreSQL instead (``to_json`` of each row in a one-column COPY) is exact too,
but costs the backend about 14 us a row: on 2 cores the backend is the bottleneck of every
COPY path, so JSON is built here, on the other core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from exporter.catalog.params import CsvOptions
from exporter.columns import Column
from exporter.db.snapshot import CopyOptions


@dataclass(frozen=True, slots=True)
class CopyPlan:
    """How to get one format from COPY: the SELECT around the export's query, COPY options."""

    select: str
    options: CopyOptions = field(default_factory=CopyOptions)
    #: COPY's output is parsed into string columns and encoded (NDJSON, Arrow, Parquet),
    #: instead of being the output itself (CSV).
    parse_columns: bool = False


COPY_PLANS: dict[str, CopyPlan] = {
    "csv": CopyPlan("{query}", {"format": "csv", "header": True}),
    "arrow": CopyPlan("{query}", {"format": "text"}, parse_columns=True),
    "parquet": CopyPlan("{query}", {"format": "text"}, parse_columns=True),
    "ndjson": CopyPlan("{query}", {"format": "text"}, parse_columns=True),
    "json": CopyPlan("{query}", {"format": "text"}, parse_columns=True),
}


def copy_plan(
    format_name: str, columns: Sequence[Column], csv: CsvOptions | None = None
) -> CopyPlan | None:
    """The COPY plan for this format and these result columns; None: use the cursor path.

    ``csv``: CSV's delimiter and header become COPY's own options (a byte order mark is no
    COPY option: the caller writes it first).
    """
    plan = COPY_PLANS.get(format_name)
    if plan is not None and plan.parse_columns and not parses_exactly(columns):
        return None
    if plan is not None and format_name == "csv" and csv is not None:
        options: CopyOptions = {**plan.options, "header": csv.header}
        if csv.delimiter != ",":
            options["delimiter"] = csv.delimiter
        plan = replace(plan, options=options)
    return plan


def parses_exactly(columns: Sequence[Column]) -> bool:
    """Whether COPY's CSV of these columns parses into the values the cursor would return."""
    return bool(columns) and not any(column.is_array for column in columns)
