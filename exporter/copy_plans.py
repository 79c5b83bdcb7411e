"""Formats PostgreSQL can produce itself with COPY, byte for byte what the encoders would.

CSV is by definition ``COPY ... (FORMAT csv, HEADER)``. NDJSON is ``to_json`` of each row; in a
one-column CSV COPY whose quote and delimiter are control characters that JSON text never holds
raw, every row comes out as the JSON text and a newline, untouched (a text-format COPY would
double every backslash). ``json`` values keep their input text, line breaks included, so those
(whitespace between tokens in valid JSON) become spaces, as the NDJSON encoder does.
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
    "ndjson": CopyPlan(
        "SELECT translate(to_json(q)::text, E'\\r\\n', '  ') FROM ({query}) AS q",
        {"format": "csv", "quote": "\x01", "delimiter": "\x02"},
    ),
}
