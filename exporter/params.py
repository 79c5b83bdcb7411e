"""Request parameters: raw query-string items -> validated, ordered bind values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exporter.catalog import RESERVED_PARAM_NAMES, ExportDefinition
from exporter.errors import InvalidParameter


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounds:
    """Server-side limits for a request's tuning knobs."""

    fetch_rows_default: int
    fetch_rows_max: int
    chunk_bytes_default: int
    chunk_bytes_max: int
    chunk_bytes_min: int = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRequest:
    """A validated request: what to run, with which values, and how to stream it."""

    export: ExportDefinition
    #: Bind values in ``$n`` order, as text for PostgreSQL to parse.
    values: tuple[str, ...]
    #: The values by parameter name, defaults included (for logs and job records).
    named_values: dict[str, str]
    fetch_rows: int
    #: True when the request set fetch_rows itself: it asks for the cursor path.
    fetch_rows_given: bool
    chunk_bytes: int
    format_name: str | None


def bind_request(
    export: ExportDefinition, items: Iterable[tuple[str, str]], bounds: Bounds
) -> ExportRequest:
    """Validate raw ``(name, value)`` items against ``export``; raise ``InvalidParameter``."""
    raw: dict[str, str] = {}
    declared = {p.name for p in export.params}
    for name, value in items:
        if name in raw:
            raise InvalidParameter(name, "given more than once")
        if name not in declared and name not in RESERVED_PARAM_NAMES:
            raise InvalidParameter(name, _unknown_reason(export, name))
        raw[name] = value
    values: list[str] = []
    named: dict[str, str] = {}
    for spec in export.params:
        given = raw.get(spec.name)
        if given is None:
            if spec.default is None:
                raise InvalidParameter(spec.name, f"required; expected {spec.type.expected}")
            bound = spec.default
        else:
            try:
                bound = spec.type.parse(given)
            except ValueError as exc:
                raise InvalidParameter(
                    spec.name, f"{exc}; expected {spec.type.expected}, got {_preview(given)}"
                ) from None
        values.append(bound)
        named[spec.name] = bound
    return ExportRequest(
        export=export,
        values=tuple(values),
        named_values=named,
        fetch_rows=_bounded(raw, "fetch_rows", bounds.fetch_rows_default, 1, bounds.fetch_rows_max),
        fetch_rows_given="fetch_rows" in raw,
        chunk_bytes=_bounded(
            raw,
            "chunk_bytes",
            bounds.chunk_bytes_default,
            bounds.chunk_bytes_min,
            bounds.chunk_bytes_max,
        ),
        format_name=raw.get("format"),
    )


def _bounded(raw: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    given = raw.get(name)
    if given is None:
        return default
    if not given.isascii() or not given.isdigit():
        raise InvalidParameter(
            name, f"expected an integer in [{low}, {high}], got {_preview(given)}"
        )
    value = int(given)
    if not low <= value <= high:
        raise InvalidParameter(name, f"expected an integer in [{low}, {high}], got {value}")
    return value


def _unknown_reason(export: ExportDefinition, name: str) -> str:
    accepted: Sequence[str] = [p.name for p in export.params] + sorted(RESERVED_PARAM_NAMES)
    return f"unknown parameter for export {export.name!r}; accepted: {', '.join(accepted)}"


def _preview(value: str, limit: int = 40) -> str:
    """A short, safe rendering of a bad value for an error message."""
    shown = value if len(value) <= limit else value[:limit] + "…"
    return repr(shown)
