"""Export definitions: parse and validate the ``sql/exports/*.sql`` files.

One file is one export, named after its stem. Leading ``--`` comment lines hold a description
and ``-- param: <name> <type> [sensitive] [= <default>]`` declarations; the body uses ``:name``
placeholders, rewritten here into ``$n::type`` bind parameters.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from exporter.catalog.filters import filterable_columns
from exporter.catalog.param_types import PARAM_TYPES, ParamType, lookup_param_type
from exporter.catalog.placeholders import SqlSyntaxError, find_placeholders, line_of
from exporter.columns import Column
from exporter.errors import CatalogError, UnknownExport
from exporter.units import parse_duration_s, parse_size_bytes

#: Query-string names the service itself uses; an export may not declare them as parameters.
RESERVED_PARAM_NAMES = frozenset({
    "format", "fetch_rows", "chunk_bytes", "compress", "csv_bom", "csv_delimiter", "csv_header",
})  # fmt: skip
#: Names that shape a request (``exporter.catalog.shaping``), and ``where.<column>``: reserved too.
SHAPING_PARAM_NAMES = frozenset({"select", "order", "limit", "after"})
WHERE_PREFIX = "where."

_EXPORT_NAME = re.compile(r"\w[\w-]*")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIRECTIVE = re.compile(r"([A-Za-z_]+)\s*:\s*(.*)")
_PARAM_DECLARATION = re.compile(r"(?P<name>\S+)\s+(?P<type>[^=]+?)\s*(?:=\s?(?P<default>.*))?")
#: The flag after the type: the value is a secret (a token, a personal id) and never logged.
_SENSITIVE_FLAG = re.compile(r"\s+sensitive\Z", re.IGNORECASE)
#: What a sensitive value, or its default, shows wherever the value itself must not appear.
REDACTED = "[redacted]"
_KNOWN_DIRECTIVES = (
    "param", "statement_timeout", "max_rows", "max_bytes", "shaping", "filterable", "watermark",
)  # fmt: skip
#: Result column types a ``-- watermark:`` may have: they only grow for new rows, and compare.
WATERMARK_TYPES = ("int2", "int4", "int8", "numeric", "date", "timestamp", "timestamptz")


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamSpec:
    """A declared parameter: name, type and default (None means required)."""

    name: str
    type: ParamType
    default: str | None
    line: int
    #: Declared ``sensitive``: its value is redacted in logs, its default in the listing.
    sensitive: bool = False

    @property
    def required(self) -> bool:
        return self.default is None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for the catalog listing."""
        return {
            "name": self.name,
            "type": self.type.name,
            "default": REDACTED if self.sensitive and self.default is not None else self.default,
            "required": self.required,
            "sensitive": self.sensitive,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportDefinition:
    """One export: its SQL (with ``$n`` parameters), parameters and, once described, columns."""

    name: str
    path: Path
    description: str
    params: tuple[ParamSpec, ...]
    #: The body rewritten with ``$n::type`` parameters; ``$n`` is ``params[n-1]``.
    sql: str
    #: ``sql`` with every parameter replaced by a typed NULL: plannable without values, used to
    #: read the result columns' exact types (``numeric(12,2)``) when the catalog is described.
    null_sql: str
    #: ``sql`` for COPY, which takes no bind parameters: each parameter is read from a
    #: transaction-local setting that was itself set through a bind parameter.
    copy_sql: str
    #: 1-based line of the file where ``sql`` starts, to point errors at the right line.
    body_line: int
    #: This export's own statement_timeout (``-- statement_timeout: 30s``); None: the setting's.
    statement_timeout_s: float | None = None
    #: Caps on the output (``-- max_rows: 1000000``, ``-- max_bytes: 2GB``): an export that
    #: goes past one is aborted, never cut short silently. None: no cap.
    max_rows: int | None = None
    max_bytes: int | None = None
    #: ``-- shaping: off`` turns select/where/order/limit off for this export.
    shaping: bool = True
    #: ``-- filterable: a, b``: the only columns ``where.`` may use; None: every one it can.
    filterable: tuple[str, ...] | None = None
    #: ``-- watermark: <column>``: the result column incremental pulls (``after=``) follow.
    watermark: str | None = None
    #: Header lines of the directives checked against the columns once they are described.
    directive_lines: tuple[tuple[str, int], ...] = ()
    columns: tuple[Column, ...] = field(default=())

    def with_columns(self, columns: Sequence[Column]) -> ExportDefinition:
        """This export with its described columns; ``CatalogError`` if a directive names a
        column it does not have (or a watermark of a type that cannot be one)."""
        by_name = {c.name: c for c in columns}
        lines = dict(self.directive_lines)
        for name in self.filterable or ():
            if name not in by_name:
                raise CatalogError(
                    self.path, lines.get("filterable"),
                    f"filterable: {name!r} is not a result column; columns: {', '.join(by_name)}",
                )  # fmt: skip
        if self.watermark is not None:
            column = by_name.get(self.watermark)
            if column is None:
                raise CatalogError(
                    self.path, lines.get("watermark"),
                    f"watermark: {self.watermark!r} is not a result column; "
                    f"columns: {', '.join(by_name)}",
                )  # fmt: skip
            if column.is_array or column.pg_type not in WATERMARK_TYPES:
                raise CatalogError(
                    self.path, lines.get("watermark"),
                    f"watermark: column {column.name!r} is {column.sql_type}; expected one of "
                    "bigint, integer, smallint, numeric, date, timestamp, timestamptz",
                )  # fmt: skip
        return replace(self, columns=tuple(columns))

    @property
    def filterable_columns(self) -> tuple[Column, ...]:
        """The columns ``where.`` conditions may use."""
        return filterable_columns(self.columns, shaping=self.shaping, allowed=self.filterable)

    @property
    def watermark_column(self) -> Column | None:
        """The described ``-- watermark:`` column, if the export declares one."""
        return next((c for c in self.columns if c.name == self.watermark), None)

    def file_line(self, sql_offset: int) -> int:
        """The file line of a character offset into ``sql``."""
        return self.body_line + line_of(self.sql, sql_offset) - 1

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for the catalog listing."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": [p.describe() for p in self.params],
            "columns": [c.describe() for c in self.columns],
            "max_rows": self.max_rows,
            "max_bytes": self.max_bytes,
            "shaping": self.shaping,
            "filterable": [c.name for c in self.filterable_columns],
            "watermark": self.watermark,
        }


class Catalog(Mapping[str, ExportDefinition]):
    """The loaded exports by name, in name order."""

    def __init__(self, exports: Sequence[ExportDefinition]) -> None:
        self._exports = {e.name: e for e in sorted(exports, key=lambda e: e.name)}

    def __getitem__(self, name: str) -> ExportDefinition:
        return self._exports[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._exports)

    def __len__(self) -> int:
        return len(self._exports)

    def get_export(self, name: str) -> ExportDefinition:
        """The export called ``name``, or ``UnknownExport``."""
        try:
            return self._exports[name]
        except KeyError:
            raise UnknownExport(name, list(self._exports)) from None


def load_catalog(sql_dir: Path) -> Catalog:
    """Parse and validate every ``*.sql`` file in ``sql_dir``; raise on the first bad one."""
    if not sql_dir.is_dir():
        raise CatalogError(sql_dir, None, "export directory does not exist")
    exports: list[ExportDefinition] = []
    seen: dict[str, Path] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        definition = parse_export(path.stem, path.read_text(encoding="utf-8"), path)
        clash = seen.get(definition.name.lower())
        if clash is not None:
            raise CatalogError(path, None, f"export name clashes with {clash.name}")
        seen[definition.name.lower()] = path
        exports.append(definition)
    if not exports:
        raise CatalogError(sql_dir, None, "no *.sql export definitions found")
    return Catalog(exports)


def parse_export(name: str, text: str, path: Path) -> ExportDefinition:
    """Parse one export definition file's text."""
    if not _EXPORT_NAME.fullmatch(name):
        raise CatalogError(path, None, f"export name {name!r} must match {_EXPORT_NAME.pattern}")
    lines = text.splitlines(keepends=True)
    description: list[str] = []
    params: dict[str, ParamSpec] = {}
    statement_timeout_s: float | None = None
    caps: dict[str, int] = {}
    shaping: dict[str, Any] = {}
    directive_lines: list[tuple[str, int]] = []
    body_start = len(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            body_start = index
            break
        comment = stripped[2:].strip()
        directive = _DIRECTIVE.fullmatch(comment)
        if directive and directive.group(1) == "param":
            spec = _parse_param(directive.group(2), path, index + 1)
            if spec.name in params:
                raise CatalogError(path, index + 1, f"parameter {spec.name!r} declared twice")
            params[spec.name] = spec
            continue
        if directive and directive.group(1) == "statement_timeout":
            try:
                statement_timeout_s = parse_duration_s(directive.group(2))
            except ValueError as exc:
                raise CatalogError(path, index + 1, f"statement_timeout: {exc}") from None
            continue
        if directive and directive.group(1) in ("max_rows", "max_bytes"):
            cap = directive.group(1)
            if cap in caps:
                raise CatalogError(path, index + 1, f"{cap} declared twice")
            caps[cap] = _parse_cap(cap, directive.group(2), path, index + 1)
            continue
        if directive and directive.group(1) in ("shaping", "filterable", "watermark"):
            word = directive.group(1)
            if word in shaping:
                raise CatalogError(path, index + 1, f"{word} declared twice")
            shaping[word] = _parse_shaping_directive(word, directive.group(2), path, index + 1)
            directive_lines.append((word, index + 1))
            continue
        if directive:
            _reject_misspelt_directive(directive.group(1), path, index + 1)
        if comment:
            description.append(comment)
    if shaping.get("shaping") is False and ("filterable" in shaping or "watermark" in shaping):
        raise CatalogError(
            path, dict(directive_lines)["shaping"],
            "shaping: off leaves nothing for filterable or watermark (both wrap the query)",
        )  # fmt: skip
    body_line = body_start + 1
    body = "".join(lines[body_start:]).rstrip()
    sql, null_sql, copy_sql = _rewrite_placeholders(
        body.removesuffix(";").rstrip(), params, path, body_line
    )
    if not sql.strip():
        raise CatalogError(path, None, "no SQL statement after the header")
    return ExportDefinition(
        name=name,
        path=path,
        description=" ".join(description),
        params=tuple(params.values()),
        sql=sql,
        null_sql=null_sql,
        copy_sql=copy_sql,
        body_line=body_line,
        statement_timeout_s=statement_timeout_s,
        max_rows=caps.get("max_rows"),
        max_bytes=caps.get("max_bytes"),
        shaping=shaping.get("shaping", True),
        filterable=shaping.get("filterable"),
        watermark=shaping.get("watermark"),
        directive_lines=tuple(directive_lines),
    )


def _parse_shaping_directive(word: str, text: str, path: Path, line: int) -> Any:
    text = text.strip()
    if word == "shaping":
        if text.lower() not in ("on", "off"):
            raise CatalogError(path, line, f"shaping: expected on or off, got {text!r}")
        return text.lower() == "on"
    if word == "filterable":
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        if not names:
            raise CatalogError(path, line, "filterable: expected column names, comma-separated")
        return names
    if not text:
        raise CatalogError(path, line, "watermark: expected a result column's name")
    return text


def _parse_cap(cap: str, text: str, path: Path, line: int) -> int:
    try:
        value = parse_size_bytes(text) if cap == "max_bytes" else int(text.strip().replace("_", ""))
    except ValueError as exc:
        reason = str(exc) if cap == "max_bytes" else f"not a whole number: {text.strip()!r}"
        raise CatalogError(path, line, f"{cap}: {reason}") from None
    if value <= 0:
        raise CatalogError(path, line, f"{cap}: must be positive")
    return value


def _parse_param(declaration: str, path: Path, line: int) -> ParamSpec:
    match = _PARAM_DECLARATION.fullmatch(declaration.strip())
    if match is None:
        raise CatalogError(
            path, line, "expected '-- param: <name> <type> [sensitive] [= <default>]'"
        )
    name = match.group("name")
    if name.startswith(WHERE_PREFIX):
        raise CatalogError(path, line, f"parameter name {name!r} is reserved by the service "
                                       f"({WHERE_PREFIX}<column> filters the result)")  # fmt: skip
    if not _PARAM_NAME.fullmatch(name):
        raise CatalogError(path, line, f"parameter name {name!r} is not an identifier")
    if name in RESERVED_PARAM_NAMES or name in SHAPING_PARAM_NAMES:
        raise CatalogError(path, line, f"parameter name {name!r} is reserved by the service")
    type_name, sensitive = _SENSITIVE_FLAG.subn("", match.group("type"))
    param_type = lookup_param_type(type_name)
    if param_type is None:
        known = ", ".join(PARAM_TYPES)
        raise CatalogError(
            path, line, f"unknown parameter type {type_name!r}; known types: {known}"
        )
    default = match.group("default")
    if default is not None:
        try:
            default = param_type.parse(default.strip())
        except ValueError as exc:
            raise CatalogError(path, line, f"default of {name!r}: {exc}") from None
    return ParamSpec(
        name=name, type=param_type, default=default, line=line, sensitive=bool(sensitive)
    )


def _reject_misspelt_directive(word: str, path: Path, line: int) -> None:
    """A header line like ``-- params: x int`` is a typo, not a description: say so."""
    close = difflib.get_close_matches(word.lower(), _KNOWN_DIRECTIVES, n=1, cutoff=0.75)
    if close and word != close[0]:
        raise CatalogError(path, line, f"unknown directive {word!r}; did you mean {close[0]!r}?")


def copy_param_setting(position: int) -> str:
    """The transaction-local setting that carries parameter ``$position`` for COPY."""
    return f"exporter.p{position}"


def _rewrite_placeholders(
    body: str, params: Mapping[str, ParamSpec], path: Path, body_line: int
) -> tuple[str, str, str]:
    """The body three ways: with ``$n::type`` parameters, with typed NULLs (to describe it
    without values) and with ``current_setting('exporter.pN')::type`` (for COPY)."""
    try:
        placeholders = find_placeholders(body)
    except SqlSyntaxError as exc:
        raise CatalogError(path, body_line + line_of(body, exc.offset) - 1, exc.reason) from None
    positions = {name: index + 1 for index, name in enumerate(params)}
    used: set[str] = set()
    renderings: tuple[list[str], list[str], list[str]] = ([], [], [])
    cursor = 0
    for placeholder in placeholders:
        spec = params.get(placeholder.name)
        if spec is None:
            line = body_line + line_of(body, placeholder.start) - 1
            raise CatalogError(
                path, line, f"placeholder :{placeholder.name} has no '-- param:' declaration"
            )
        used.add(spec.name)
        position, pg_type = positions[spec.name], spec.type.pg_type
        replacements = (
            f"${position}::{pg_type}",
            f"NULL::{pg_type}",
            f"current_setting('{copy_param_setting(position)}')::{pg_type}",
        )
        for pieces, replacement in zip(renderings, replacements, strict=True):
            pieces.append(body[cursor : placeholder.start])
            pieces.append(replacement)
        cursor = placeholder.end
    for pieces in renderings:
        # The query is wrapped (COPY (...) TO STDOUT, CREATE ... AS ... WITH NO DATA): a
        # line comment on its last line would swallow the closing text.
        pieces.append(body[cursor:].rstrip() + "\n")
    for spec in params.values():
        if spec.name not in used:
            raise CatalogError(path, spec.line, f"parameter {spec.name!r} is never used")
    sql, null_sql, copy_sql = ("".join(pieces) for pieces in renderings)
    return sql, null_sql, copy_sql
