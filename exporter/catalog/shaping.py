"""Shaping a request: ``select=``, ``where.<column>=``, ``order=`` and ``limit=`` on any export.

The export's query is wrapped, ``SELECT <columns> FROM (<export sql>) AS e WHERE ... ORDER BY
... LIMIT ...``. Identifiers come only from the export's own described columns and are quoted;
every value is parsed by the column's type (``param_types``, the parameters' own parsers) and
bound, never spliced: as ``$n::type`` for the cursor, as a transaction-local setting read back
with ``current_setting`` for COPY (the same mechanism as the export's parameters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from exporter.catalog.definitions import (
    SHAPING_PARAM_NAMES,
    WHERE_PREFIX,
    ExportDefinition,
    copy_param_setting,
)
from exporter.catalog.filters import COMPARISONS, filter_type, operators_for
from exporter.catalog.param_types import ParamType
from exporter.columns import Column
from exporter.errors import InvalidParameter

#: Most items one ``in.(...)`` list may hold (each is a bind parameter).
MAX_IN_ITEMS = 1000
_ORDER_TERM = re.compile(
    r"(?P<column>.+?)(?:\.(?P<dir>asc|desc))?(?:\.(?P<nulls>nullsfirst|nullslast))?"
)


def is_shaping_name(name: str) -> bool:
    """Whether a query-string name shapes the request rather than naming a parameter."""
    return name in SHAPING_PARAM_NAMES or name.startswith(WHERE_PREFIX)


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``where.`` condition: ``[NOT] e."column" <op> <values>``; values are bound."""

    column: Column
    op: str
    values: tuple[str, ...] = ()
    negated: bool = False


@dataclass(frozen=True, slots=True)
class OrderTerm:
    column: Column
    descending: bool = False
    #: "first", "last" or None (PostgreSQL's default for the direction).
    nulls: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """A request's shaping, checked against the export's columns."""

    select: tuple[Column, ...] | None = None
    conditions: tuple[Condition, ...] = ()
    order: tuple[OrderTerm, ...] = ()
    limit: int | None = None

    @property
    def empty(self) -> bool:
        return (self.select, self.conditions, self.order, self.limit) == (None, (), (), None)

    def with_conditions(self, *conditions: Condition) -> Shape:
        return replace(self, conditions=self.conditions + conditions)


def parse_shape(
    export: ExportDefinition, items: Iterable[tuple[str, str]], *, limit_max: int
) -> Shape:
    """The shaping asked for by ``items`` (shaping names only; ``after`` is left out here).

    Raises ``InvalidParameter`` naming the item for anything malformed or not allowed.
    """
    select: tuple[Column, ...] | None = None
    conditions: list[Condition] = []
    order: tuple[OrderTerm, ...] = ()
    limit: int | None = None
    by_name = {c.name: c for c in export.columns}
    for name, value in items:
        if name == "after":
            if export.watermark is None:
                raise InvalidParameter(
                    name, f"export {export.name!r} declares no '-- watermark:' to pull after"
                )
            continue
        if not export.shaping:
            raise InvalidParameter(
                name, f"export {export.name!r} turns shaping off ('-- shaping: off')"
            )
        if name == "select":
            select = _parse_select(value, by_name)
        elif name == "order":
            order = _parse_order(value, by_name)
        elif name == "limit":
            limit = _parse_limit(value, limit_max)
        else:
            conditions.append(_parse_condition(export, name, value, by_name))
    return Shape(select=select, conditions=tuple(conditions), order=order, limit=limit)


def _valid_names(by_name: dict[str, Column]) -> str:
    return ", ".join(by_name)


def _parse_select(value: str, by_name: dict[str, Column]) -> tuple[Column, ...]:
    names = value.split(",") if value else []
    if not names:
        raise InvalidParameter("select", f"empty; valid columns: {_valid_names(by_name)}")
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise InvalidParameter(
            "select",
            f"unknown column(s) {', '.join(map(repr, unknown))}; "
            f"valid columns: {_valid_names(by_name)}",
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidParameter(
            "select", f"column(s) {', '.join(map(repr, repeated))} given more than once"
        )
    return tuple(by_name[n] for n in names)


def _parse_order(value: str, by_name: dict[str, Column]) -> tuple[OrderTerm, ...]:
    if not value:
        raise InvalidParameter("order", f"empty; valid columns: {_valid_names(by_name)}")
    terms: list[OrderTerm] = []
    for term in value.split(","):
        match = _ORDER_TERM.fullmatch(term)
        column = by_name.get(match.group("column")) if match else None
        if match is None or column is None:
            raise InvalidParameter(
                "order",
                f"unknown column in {term!r}; expected column[.asc|.desc][.nullsfirst|"
                f".nullslast] with a column among: {_valid_names(by_name)}",
            )
        if filter_type(column) is None:
            raise InvalidParameter("order", f"column {column.name!r} ({column.sql_type}) "
                                            "cannot be ordered by")  # fmt: skip
        nulls = match.group("nulls")
        terms.append(
            OrderTerm(
                column,
                descending=match.group("dir") == "desc",
                nulls=None if nulls is None else nulls.removeprefix("nulls"),
            )
        )
    return tuple(terms)


def _parse_limit(value: str, limit_max: int) -> int:
    if not value.isascii() or not value.isdigit() or int(value) > limit_max:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise InvalidParameter(
            "limit", f"expected an integer in [0, {limit_max}] (EXPORTER_LIMIT_MAX), got {shown!r}"
        )
    return int(value)


def _parse_condition(
    export: ExportDefinition, name: str, value: str, by_name: dict[str, Column]
) -> Condition:
    column_name = name.removeprefix(WHERE_PREFIX)
    column = by_name.get(column_name)
    filterable = export.filterable_columns
    allowed = ", ".join(c.name for c in filterable) or "none"
    if column is None:
        raise InvalidParameter(name, f"unknown column; filterable columns: {allowed}")
    if column not in filterable:
        why = (
            "not listed by the export's '-- filterable:'"
            if export.filterable is not None and operators_for(column)
            else f"its type {column.sql_type} cannot be filtered"
        )
        raise InvalidParameter(name, f"column {column.name!r} is not filterable ({why}); "
                                     f"filterable columns: {allowed}")  # fmt: skip
    negated = value.startswith("not.")
    op, _, argument = value.removeprefix("not.").partition(".")
    operators = operators_for(column)
    if op not in operators:
        raise InvalidParameter(
            name,
            f"unknown operator {op!r} for a {column.sql_type} column; expected "
            f"[not.]<op>.<value> with op among: {', '.join(operators)}",
        )
    param_type = filter_type(column)
    assert param_type is not None
    if op == "is":
        if argument not in ("null", "true", "false"):
            raise InvalidParameter(name, f"is.{argument}: expected is.null, is.true or is.false")
        if argument != "null" and param_type.name != "boolean":
            raise InvalidParameter(name, f"is.{argument} needs a boolean column")
        return Condition(column, "is", (argument,), negated)
    raw_values = _parse_list(name, argument) if op == "in" else [argument]
    return Condition(
        column, op, tuple(_parse_value(name, param_type, raw) for raw in raw_values), negated
    )


def _parse_value(name: str, param_type: ParamType, raw: str) -> str:
    try:
        return param_type.parse(raw)
    except ValueError as exc:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidParameter(
            name, f"{exc}; expected {param_type.expected}, got {shown!r}"
        ) from None


def _parse_list(name: str, argument: str) -> list[str]:
    """``(a,b,"c,d")``: comma-separated items; a double-quoted item may hold commas, and
    ``\\"`` and ``\\\\`` inside quotes stand for ``"`` and ``\\``."""
    if not (argument.startswith("(") and argument.endswith(")")) or len(argument) < 2:
        raise InvalidParameter(name, 'in: expected in.(a,b,...) ("quoted" items may hold commas)')
    body = argument[1:-1]
    if not body:
        raise InvalidParameter(name, "in.() needs at least one value")
    items: list[str] = []
    position = 0
    while True:
        if body.startswith('"', position):
            item: list[str] = []
            position += 1
            while True:
                if position >= len(body):
                    raise InvalidParameter(name, "in: a quoted item is not closed")
                char = body[position]
                if char == "\\" and position + 1 < len(body):
                    item.append(body[position + 1])
                    position += 2
                elif char == '"':
                    position += 1
                    break
                else:
                    item.append(char)
                    position += 1
            items.append("".join(item))
            if position < len(body) and body[position] != ",":
                raise InvalidParameter(name, "in: expected a comma after a quoted item")
        else:
            end = body.find(",", position)
            end = len(body) if end < 0 else end
            items.append(body[position:end])
            position = end
        if len(items) > MAX_IN_ITEMS:
            raise InvalidParameter(name, f"in: more than {MAX_IN_ITEMS} values")
        if position >= len(body):
            return items
        position += 1  # the comma


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (``"`` doubled)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class ShapedQuery:
    """The wrapped query in its two renderings, and the values it binds after the export's."""

    sql: str
    copy_sql: str
    values: tuple[str, ...]
    columns: tuple[Column, ...]


def render_shape(export: ExportDefinition, shape: Shape, first_position: int) -> ShapedQuery:
    """The export's query wrapped by ``shape``; its values are ``$first_position`` on."""
    values: list[str] = []
    cursor_pieces: list[str] = []
    copy_pieces: list[str] = []

    def bind(value: str, pg_type: str) -> None:
        position = first_position + len(values)
        values.append(value)
        cursor_pieces.append(f"${position}::{pg_type}")
        copy_pieces.append(f"current_setting('{copy_param_setting(position)}')::{pg_type}")

    def text(piece: str) -> None:
        cursor_pieces.append(piece)
        copy_pieces.append(piece)

    columns = shape.select if shape.select is not None else export.columns
    text("SELECT " + ", ".join(f"e.{quote_identifier(c.name)}" for c in columns))
    text(" FROM (\n")
    cursor_pieces.append(export.sql)
    copy_pieces.append(export.copy_sql)
    text(") AS e")
    for index, condition in enumerate(shape.conditions):
        text(" WHERE " if index == 0 else " AND ")
        text("NOT (" if condition.negated else "(")
        target = f"e.{quote_identifier(condition.column.name)}"
        param_type = filter_type(condition.column)
        assert param_type is not None
        if condition.op == "never":  # an incremental pull with nothing to send yet
            text("FALSE")
        elif condition.op == "is":
            text(f"{target} IS {condition.values[0].upper()}")
        elif condition.op == "in":
            text(f"{target} IN (")
            for item_index, value in enumerate(condition.values):
                text(", " if item_index else "")
                bind(value, param_type.pg_type)
            text(")")
        else:
            operator = COMPARISONS.get(condition.op) or condition.op.upper()
            text(f"{target} {operator} ")
            bind(condition.values[0], param_type.pg_type)
        text(")")
    if shape.order:
        terms = []
        for term in shape.order:
            piece = quote_identifier(term.column.name) + (" DESC" if term.descending else " ASC")
            if term.nulls is not None:
                piece += f" NULLS {term.nulls.upper()}"
            terms.append(piece)
        # Output column names, so an ordering column left out of select is still there as e's.
        text(" ORDER BY " + ", ".join(f"e.{t}" for t in terms))
    if shape.limit is not None:
        text(" LIMIT ")
        bind(str(shape.limit), "int8")
    text("\n")
    return ShapedQuery(
        sql="".join(cursor_pieces),
        copy_sql="".join(copy_pieces),
        values=tuple(values),
        columns=tuple(columns),
    )


def shaped_export(
    export: ExportDefinition, shape: Shape, values: Sequence[str]
) -> tuple[ExportDefinition, tuple[str, ...]]:
    """``export`` wrapped by ``shape`` (unchanged when it is empty), and all its bind values."""
    if shape.empty:
        return export, tuple(values)
    query = render_shape(export, shape, len(values) + 1)
    wrapped = replace(export, sql=query.sql, copy_sql=query.copy_sql, columns=query.columns)
    return wrapped, (*values, *query.values)
