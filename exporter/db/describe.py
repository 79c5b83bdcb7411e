"""Describe an export's result columns from PREPARE, before any row is fetched."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from exporter.catalog.definitions import ExportDefinition
from exporter.columns import Column, kind_for
from exporter.db.failures import DRIVER_ERRORS
from exporter.errors import CatalogError, DatabaseUnavailable

#: Resolve each type OID through domains to its base type, and arrays to their element.
_RESOLVE_TYPES = """
WITH RECURSIVE chain AS (
    SELECT t.oid AS start, t.oid, t.typtype, t.typbasetype, 0 AS depth
    FROM pg_type t WHERE t.oid::text = ANY($1::text[])
  UNION ALL
    SELECT c.start, b.oid, b.typtype, b.typbasetype, c.depth + 1
    FROM chain c JOIN pg_type b ON b.oid = c.typbasetype
    WHERE c.typtype = 'd'
)
SELECT DISTINCT ON (c.start)
       c.start::text AS start,
       -- Built-in types by their bare name, any other schema-qualified: a user type called
       -- uuid or date must not be read as the built-in one.
       CASE WHEN t.typnamespace = 'pg_catalog'::regnamespace THEN t.typname::text
            ELSE format('%I.%I', n.nspname, t.typname) END AS typname,
       t.typtype::text, t.typcategory::text, t.typelem::text AS typelem
FROM chain c JOIN pg_type t ON t.oid = c.oid JOIN pg_namespace n ON n.oid = t.typnamespace
ORDER BY c.start, c.depth DESC
"""

_DESCRIBE_TABLE = "pg_temp.exporter_describe"

_COLUMN_TYPES = f"""
SELECT a.atttypmod::text, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = '{_DESCRIBE_TABLE}'::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

# typtype letters of types we cannot export value by value.
_UNSUPPORTED_TYPTYPE = {"c": "a composite (row) type", "r": "a range type",
                        "m": "a multirange type", "p": "a pseudo-type"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _BaseType:
    name: str
    typtype: str
    category: str
    element_oid: str


async def describe_export(
    conn: asyncpg.Connection | PoolConnectionProxy, export: ExportDefinition
) -> ExportDefinition:
    """``export`` with its result columns filled in; ``CatalogError`` if PostgreSQL rejects it."""
    try:
        statement = await conn.prepare(export.sql)
    except asyncpg.PostgresError as exc:
        position = getattr(exc, "position", None)
        line = export.file_line(int(position) - 1) if position else export.body_line
        raise CatalogError(export.path, line, f"PostgreSQL rejects the query: {exc}") from None
    attributes = statement.get_attributes()
    names = [attribute.name for attribute in attributes]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CatalogError(
            export.path,
            export.body_line,
            f"result column names must be unique (alias them): {', '.join(duplicates)}",
        )
    if not attributes:
        raise CatalogError(export.path, export.body_line, "the statement returns no columns")
    if await _writes(conn, export):
        raise CatalogError(
            export.path,
            export.body_line,
            "the query writes (INSERT, UPDATE, DELETE or MERGE, perhaps in a WITH): exports run "
            "in a READ ONLY snapshot, where it can never succeed",
        )
    oids = [str(attribute.type.oid) for attribute in attributes]
    base = await _resolve_types(conn, oids)
    element_oids = [b.element_oid for b in base.values() if b.category == "A"]
    elements = await _resolve_types(conn, element_oids) if element_oids else {}
    typmods = await _declared_types(conn, export, len(attributes))
    columns = []
    for index, attribute in enumerate(attributes):
        value_type = base[oids[index]]
        is_array = value_type.category == "A" and value_type.element_oid != "0"
        if is_array:
            value_type = elements[value_type.element_oid]
        unsupported = _UNSUPPORTED_TYPTYPE.get(value_type.typtype)
        if unsupported:
            raise CatalogError(
                export.path,
                export.body_line,
                f"column {attribute.name!r} has {unsupported} ({value_type.name}); "
                "cast it in the query, e.g. to text or with to_json()",
            )
        typmod, sql_type = typmods[index] if typmods else (-1, attribute.type.name)
        precision, scale = _numeric_typmod(typmod) if value_type.name == "numeric" else (None, None)
        columns.append(
            Column(
                name=attribute.name,
                sql_type=sql_type,
                pg_type=value_type.name,
                kind=kind_for(value_type.name),
                is_array=is_array,
                numeric_precision=precision,
                numeric_scale=scale,
            )
        )
    return export.with_columns(columns)


async def describe_catalog(
    pool: asyncpg.Pool, exports: Sequence[ExportDefinition]
) -> list[ExportDefinition]:
    """Every export of ``exports``, described on one of ``pool``'s connections.

    A database that fails while describing is ``DatabaseUnavailable``; a query PostgreSQL
    rejects is the file's ``CatalogError``.
    """
    try:
        async with pool.acquire() as conn:
            return [await describe_export(conn, export) for export in exports]
    except DRIVER_ERRORS as exc:
        raise DatabaseUnavailable(f"cannot describe the exports: {exc}") from exc


async def _resolve_types(
    conn: asyncpg.Connection | PoolConnectionProxy, oids: Sequence[str]
) -> dict[str, _BaseType]:
    rows = await conn.fetch(_RESOLVE_TYPES, list(oids))
    return {
        row["start"]: _BaseType(row["typname"], row["typtype"], row["typcategory"], row["typelem"])
        for row in rows
    }


async def _writes(conn: asyncpg.Connection | PoolConnectionProxy, export: ExportDefinition) -> bool:
    """Whether the query's plan modifies a table (DML, or a data-modifying ``WITH``).

    Such a query passes PREPARE and fails only when run, in the export's read-only snapshot.
    ``EXPLAIN`` plans it without running it, in a transaction that is always rolled back.
    A query EXPLAIN cannot plan here is left to fail at PREPARE or when run, as before.
    """
    transaction = conn.transaction()
    await transaction.start()
    try:
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON, COSTS OFF) {export.null_sql}")
    except asyncpg.PostgresError:
        return False
    finally:
        await transaction.rollback()
    return _has_node(json.loads(plan) if isinstance(plan, str) else plan, "ModifyTable")


def _has_node(plan: Any, node_type: str) -> bool:
    if isinstance(plan, dict):
        if plan.get("Node Type") == node_type:
            return True
        return any(_has_node(value, node_type) for value in plan.values())
    if isinstance(plan, list):
        return any(_has_node(item, node_type) for item in plan)
    return False


async def _declared_types(
    conn: asyncpg.Connection | PoolConnectionProxy, export: ExportDefinition, count: int
) -> list[tuple[int, str]] | None:
    """(typmod, format_type) per column, read from a never-filled temporary table.

    PREPARE reports type OIDs but asyncpg does not expose the type modifiers (``numeric(12,2)``).
    ``CREATE TEMP TABLE .. AS .. WITH NO DATA`` plans the query without running it and records
    them. It runs in a transaction that is always rolled back. Returns None when PostgreSQL
    cannot do it (a read-only standby, say): the columns are then described without modifiers.
    """
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(f"CREATE TEMP TABLE {_DESCRIBE_TABLE} AS {export.null_sql} WITH NO DATA")
        rows = await conn.fetch(_COLUMN_TYPES)
    except asyncpg.PostgresError:
        return None
    finally:
        await transaction.rollback()
    if len(rows) != count:
        return None
    return [(int(row[0]), row[1]) for row in rows]


def _numeric_typmod(typmod: int) -> tuple[int | None, int | None]:
    """Precision and scale of ``numeric(p,s)`` from its typmod; (None, None) if unconstrained."""
    if typmod < 4:
        return None, None
    packed = typmod - 4
    precision = (packed >> 16) & 0xFFFF
    scale = ((packed & 0x7FF) ^ 1024) - 1024  # 11-bit signed: PostgreSQL 15 allows scale < 0
    return precision, scale
