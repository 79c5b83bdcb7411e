"""Result columns as the encoders see them: a name, a value kind and the PostgreSQL type.

Rows reach the encoders as PostgreSQL's own text output (see ``exporter.db``): every scalar
value is the ``str`` PostgreSQL prints for it, arrays are (nested) lists of such strings, NULL
is ``None``. The value kind tells an encoder how to turn that text into its format.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

#: One result row: a sequence of text values, lists (arrays) or None (NULL).
Row: TypeAlias = Sequence[Any]


class ValueKind(enum.Enum):
    """How a column's text values are to be read; one per family of PostgreSQL types."""

    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    NUMERIC = "numeric"
    BOOL = "bool"
    TEXT = "text"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TIMESTAMPTZ = "timestamptz"
    UUID = "uuid"
    JSON = "json"
    BYTEA = "bytea"


#: PostgreSQL base type name -> value kind. Types not listed (time, interval, inet, enums, ...)
#: are exported as their text, which is also what ``to_json`` does with them.
KIND_BY_PG_TYPE: dict[str, ValueKind] = {
    "int2": ValueKind.INT16,
    "int4": ValueKind.INT32,
    "int8": ValueKind.INT64,
    "oid": ValueKind.INT64,
    "float4": ValueKind.FLOAT32,
    "float8": ValueKind.FLOAT64,
    "numeric": ValueKind.NUMERIC,
    "bool": ValueKind.BOOL,
    "date": ValueKind.DATE,
    "timestamp": ValueKind.TIMESTAMP,
    "timestamptz": ValueKind.TIMESTAMPTZ,
    "uuid": ValueKind.UUID,
    "json": ValueKind.JSON,
    "jsonb": ValueKind.JSON,
    "bytea": ValueKind.BYTEA,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One result column, described by PREPARE before any row is fetched."""

    name: str
    #: The type as PostgreSQL spells it, with modifiers: ``numeric(12,2)``, ``text[]``.
    sql_type: str
    #: Base type of the value (of the element, for arrays), domains resolved: ``numeric``.
    pg_type: str
    kind: ValueKind
    is_array: bool = False
    #: Declared precision and scale of a ``numeric(p,s)`` column; None when not declared.
    numeric_precision: int | None = None
    numeric_scale: int | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for the catalog listing."""
        return {"name": self.name, "type": self.sql_type}


def kind_for(pg_type: str) -> ValueKind:
    """The value kind for a base type name; anything unknown is exported as text."""
    return KIND_BY_PG_TYPE.get(pg_type, ValueKind.TEXT)
