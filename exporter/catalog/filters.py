"""Which result columns a ``where.`` condition may use, and with which operators.

Column-level facts only (a column's type decides its operators); ``shaping`` parses and
renders the conditions, ``definitions`` lists the filterable columns of an export.
"""

from __future__ import annotations

from collections.abc import Sequence

from exporter.catalog.param_types import ParamType, lookup_param_type
from exporter.columns import Column

#: Operator -> SQL comparison; ``in``, ``is``, ``like`` and ``ilike`` are rendered apart.
COMPARISONS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
OPERATORS = (*COMPARISONS, "in", "is", "like", "ilike")
#: Operators a column of each kind of parameter type takes (``is.null`` goes with every one).
_TEXT_OPERATORS = (*COMPARISONS, "in", "is", "like", "ilike")
_BOOLEAN_OPERATORS = ("eq", "neq", "is")
_ORDERED_OPERATORS = (*COMPARISONS, "in", "is")


def filter_type(column: Column) -> ParamType | None:
    """The parameter type a filter value on ``column`` is parsed as; None: not filterable."""
    if column.is_array:
        return None
    return lookup_param_type(column.pg_type)


def operators_for(column: Column) -> tuple[str, ...]:
    """The operators a ``where.`` condition on ``column`` may use."""
    param_type = filter_type(column)
    if param_type is None:
        return ()
    if param_type.name == "text":
        return _TEXT_OPERATORS
    if param_type.name == "boolean":
        return _BOOLEAN_OPERATORS
    return _ORDERED_OPERATORS


def filterable_columns(
    columns: Sequence[Column], *, shaping: bool = True, allowed: Sequence[str] | None = None
) -> tuple[Column, ...]:
    """The columns ``where.`` may filter on: of a filterable type, and among ``allowed``
    (``-- filterable:``) when given; none when the export turns shaping off."""
    if not shaping:
        return ()
    return tuple(c for c in columns if operators_for(c) and (allowed is None or c.name in allowed))
