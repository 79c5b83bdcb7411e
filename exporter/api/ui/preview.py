"""The preview: the first rows of an export, read from its NDJSON stream and then abandoned.

It runs the export through the service exactly as ``GET /exports/{name}?format=ndjson`` does
(same binding, same slot accounting, same encoder), reads until it has ``limit`` rows and
leaves: leaving the stream's ``async with`` cancels the query and releases the connection.
The cursor path with batches of ``limit`` rows is asked for, so PostgreSQL plans the query
for its first rows (a COPY would be planned for all of them, a sort of the whole table first).

Values are kept as the NDJSON wrote them: numbers keep their digits as text (no float or
``Decimal`` round trip), nested JSON is re-serialized compactly from a parse that does the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exporter.access.keys import ApiKey
from exporter.catalog.params import ExportRequest
from exporter.encoders import FORMATS
from exporter.export.pipeline import StreamStats
from exporter.export.service import ExportService

__all__ = ["PREVIEW_ROWS", "Cell", "Preview", "preview_items", "read_preview"]

PREVIEW_ROWS = 100
#: Characters a cell shows before it is cut (the whole value is in its title and data).
SHOWN_CHARS = 80


class _Enough(Exception):
    """Raised from the writer to stop the export once the preview has its rows."""


class _Number(str):
    """A JSON number, as the text it was written with."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One value: its JSON text (exact), what the table shows, and whether it is NULL."""

    json: str
    text: str
    is_null: bool

    @property
    def shown(self) -> str:
        return self.text if len(self.text) <= SHOWN_CHARS else self.text[:SHOWN_CHARS] + "…"

    @property
    def cut(self) -> bool:
        return len(self.text) > SHOWN_CHARS


@dataclass(frozen=True, slots=True)
class Preview:
    """The first rows of an export, how long they took, and whether there were more."""

    columns: Sequence[tuple[str, str]]
    rows: Sequence[Sequence[Cell]]
    more: bool
    duration_s: float


def preview_items(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The request's parameters with the knobs the preview sets itself."""
    kept = [(n, v) for n, v in items if n not in ("format", "fetch_rows", "compress")]
    return [*kept, ("format", "ndjson"), ("fetch_rows", str(PREVIEW_ROWS))]


async def read_preview(
    service: ExportService,
    request: ExportRequest,
    api_key: ApiKey | None,
    limit: int = PREVIEW_ROWS,
) -> Preview:
    """The first ``limit`` rows of ``request`` (bound with ``preview_items``)."""
    started_s = time.monotonic()
    if request.export.max_rows is not None:  # never trip the export's own cap
        limit = min(limit, request.export.max_rows)
    lines: list[bytes] = []
    pending = bytearray()
    more = False

    async def write(chunk: bytes) -> None:
        nonlocal more
        pending.extend(chunk)
        *complete, rest = bytes(pending).split(b"\n")
        pending[:] = rest
        for line in complete:
            if len(lines) == limit:
                more = True
                raise _Enough
            lines.append(line)

    with service.take_export_slot(api_key):
        try:
            async with service.open_stream(request, FORMATS["ndjson"], StreamStats()) as pump:
                await pump(write)
        except _Enough:
            pass
    columns = [(c.name, c.sql_type) for c in request.export.columns]
    rows = [_cells(line, [name for name, _ in columns]) for line in lines]
    return Preview(columns, rows, more, time.monotonic() - started_s)


def _cells(line: bytes, names: Sequence[str]) -> list[Cell]:
    row: dict[str, Any] = json.loads(line, parse_int=_Number, parse_float=_Number)
    return [_cell(row[name]) for name in names]


def _cell(value: Any) -> Cell:
    text = _json_text(value)
    if value is None:
        return Cell(text, "NULL", True)
    if isinstance(value, str) and not isinstance(value, _Number):
        return Cell(text, value, False)
    return Cell(text, text, False)


def _json_text(value: Any) -> str:
    """Compact JSON for ``value``, numbers exactly as they were written."""
    if isinstance(value, _Number):
        return str.__str__(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(k, ensure_ascii=False)}:{_json_text(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
