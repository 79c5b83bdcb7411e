"""The parameter types an export may declare, each with a strict parser.

Parsers turn the raw request text into the canonical text PostgreSQL will parse for the bind
parameter (``exporter.db`` binds every value in text format), or raise ``ValueError`` with a
message naming what was expected. Values are always bound, never spliced into SQL.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPECIAL_NUMBERS = {
    "nan": "NaN",
    "infinity": "Infinity",
    "+infinity": "Infinity",
    "-infinity": "-Infinity",
    "inf": "Infinity",
    "+inf": "Infinity",
    "-inf": "-Infinity",
}
_INFINITIES = {"infinity": "infinity", "+infinity": "infinity", "-infinity": "-infinity"}
_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}
_FLOAT4_MAX = 3.4028234663852886e38


@dataclass(frozen=True, slots=True)
class ParamType:
    """A declarable parameter type: its PostgreSQL name and its parser."""

    name: str
    pg_type: str
    parse: Callable[[str], str]
    expected: str


def _integer(low: int, high: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not _INTEGER.fullmatch(raw):
            raise ValueError("not an integer")
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"out of range [{low}, {high}]")
        return str(value)

    return parse


def _parse_numeric(raw: str) -> str:
    special = _SPECIAL_NUMBERS.get(raw.lower())
    if special is not None:
        return special
    if not _DECIMAL.fullmatch(raw):
        raise ValueError("not a decimal number")
    try:
        Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
        raise ValueError("not a decimal number") from exc
    return raw


def _float(max_abs: float) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        special = _SPECIAL_NUMBERS.get(raw.lower())
        if special is not None:
            return special
        if not _DECIMAL.fullmatch(raw):
            raise ValueError("not a number")
        value = float(raw)
        if math.isinf(value) or abs(value) > max_abs:
            raise ValueError("out of range")
        return repr(value)

    return parse


def _parse_boolean(raw: str) -> str:
    lowered = raw.lower()
    if lowered in _TRUE:
        return "true"
    if lowered in _FALSE:
        return "false"
    raise ValueError("not a boolean (true/false)")


def _parse_date(raw: str) -> str:
    special = _INFINITIES.get(raw.lower())
    if special is not None:
        return special
    if not _DATE.fullmatch(raw):
        raise ValueError("not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError as exc:
        raise ValueError(f"not a valid date ({exc})") from exc


def _timestamp(*, with_zone: bool) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        special = _INFINITIES.get(raw.lower())
        if special is not None:
            return special
        if not _DATE.match(raw):
            raise ValueError(_expected)
        try:
            value = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise ValueError(f"{_expected} ({exc})") from exc
        if value.tzinfo is not None and not with_zone:
            raise ValueError("a timestamp without time zone must not carry an offset")
        return value.isoformat()

    _expected = (
        "not an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM])"
        if with_zone
        else "not an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff])"
    )
    return parse


def _parse_text(raw: str) -> str:
    if "\x00" in raw:
        raise ValueError("contains a NUL character, which PostgreSQL text cannot hold")
    return raw


def _parse_uuid(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise ValueError("not a UUID") from exc


_TYPES = (
    ParamType("text", "text", _parse_text, "text"),
    ParamType("smallint", "int2", _integer(-(2**15), 2**15 - 1), "a 16-bit integer"),
    ParamType("integer", "int4", _integer(-(2**31), 2**31 - 1), "a 32-bit integer"),
    ParamType("bigint", "int8", _integer(-(2**63), 2**63 - 1), "a 64-bit integer"),
    ParamType("numeric", "numeric", _parse_numeric, "a decimal number"),
    ParamType("real", "float4", _float(_FLOAT4_MAX), "a number"),
    ParamType("double precision", "float8", _float(math.inf), "a number"),
    ParamType("boolean", "bool", _parse_boolean, "true or false"),
    ParamType("date", "date", _parse_date, "a date YYYY-MM-DD"),
    ParamType("timestamp", "timestamp", _timestamp(with_zone=False), "an ISO 8601 timestamp"),
    ParamType("timestamptz", "timestamptz", _timestamp(with_zone=True), "an ISO 8601 timestamp"),
    ParamType("uuid", "uuid", _parse_uuid, "a UUID"),
)

_ALIASES = {
    "int": "integer",
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "decimal": "numeric",
    "float4": "real",
    "float8": "double precision",
    "float": "double precision",
    "bool": "boolean",
    "varchar": "text",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
}

PARAM_TYPES: dict[str, ParamType] = {t.name: t for t in _TYPES}


def lookup_param_type(spelling: str) -> ParamType | None:
    """The parameter type for a declared spelling (``int``, ``double precision``), or None."""
    normalized = " ".join(spelling.lower().split())
    return PARAM_TYPES.get(_ALIASES.get(normalized, normalized))
