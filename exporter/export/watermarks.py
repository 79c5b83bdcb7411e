"""Incremental pulls: the ``Exporter-Watermark`` token and the bound each pull may send.

A token is ``<payload>.<signature>``, both base64url: the payload is JSON holding the export's
name, the bound the rows sent so far stay within (``w <= v``, or ``w < v`` when ``strict``) and
a candidate bound for integer watermarks (a maximum and when it was read); the signature is an
HMAC-SHA256 of the payload under the service's key (EXPORTER_WATERMARK_SECRET). A token that
was altered, or that belongs to another export, is refused: ``InvalidParameter("after")``.

How the bound is chosen, and why no row is lost or sent twice: docs/bi.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

import orjson

from exporter.catalog.definitions import ExportDefinition
from exporter.catalog.shaping import Condition
from exporter.columns import Column
from exporter.db.watermarks import Horizon
from exporter.errors import InvalidParameter

__all__ = [
    "Candidate",
    "Watermark",
    "next_watermark",
    "read_token",
    "row_conditions",
    "write_token",
]

#: The response header that carries the token.
WATERMARK_HEADER = "Exporter-Watermark"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A maximum read earlier, safe once every transaction open at ``taken_at`` has ended."""

    maximum: str
    taken_at: str


@dataclass(frozen=True, slots=True)
class Watermark:
    """Where a pull ended: every row with ``w <= value`` (``w < value`` if strict) was sent.

    ``value`` None: nothing was sent yet.
    """

    export: str
    value: str | None
    strict: bool = False
    candidate: Candidate | None = None


def write_token(watermark: Watermark, key: bytes) -> str:
    """The signed, opaque token for ``watermark``."""
    candidate = watermark.candidate
    payload = orjson.dumps(
        {
            "x": watermark.export,
            "v": watermark.value,
            "s": watermark.strict,
            "c": None if candidate is None else [candidate.maximum, candidate.taken_at],
        }
    )
    return _b64(payload) + "." + _b64(_sign(payload, key))


def read_token(token: str, export: ExportDefinition, key: bytes) -> Watermark:
    """The watermark a token carries; ``InvalidParameter("after")`` if forged or foreign."""
    encoded, _, signature = token.partition(".")
    try:
        payload = _unb64(encoded)
        valid = hmac.compare_digest(_unb64(signature), _sign(payload, key))
    except (ValueError, binascii.Error):
        valid = False
    if not valid:
        raise InvalidParameter(
            "after",
            "not a watermark token this service issued (altered, truncated, or signed with "
            "another EXPORTER_WATERMARK_SECRET)",
        )
    data = orjson.loads(payload)
    if data["x"] != export.name:
        raise InvalidParameter("after", f"a token of export {data['x']!r}, not {export.name!r}")
    candidate = data["c"]
    return Watermark(
        export=export.name,
        value=data["v"],
        strict=data["s"],
        candidate=None if candidate is None else Candidate(*candidate),
    )


def next_watermark(column: Column, previous: Watermark, horizon: Horizon) -> Watermark:
    """How far this pull may go: every row at or below the bound is committed already.

    - Every transaction open when the maximum was read has ended: the maximum.
    - Else the previous pull's candidate once every transaction open when it was read has
      ended (the new maximum becomes the next candidate), else no further than before.
    """
    fresh = None if horizon.maximum is None else Candidate(horizon.maximum, horizon.taken_at)
    if horizon.maximum is None:
        return previous
    if horizon.settled:
        return Watermark(previous.export, horizon.maximum)
    if previous.candidate is not None and horizon.candidate_settled:
        return Watermark(previous.export, previous.candidate.maximum, candidate=fresh)
    return Watermark(previous.export, previous.value, previous.strict, previous.candidate or fresh)


def row_conditions(column: Column, previous: Watermark, bound: Watermark) -> tuple[Condition, ...]:
    """``previous < w <= bound`` (``<`` for strict bounds) as shaping conditions."""
    conditions: list[Condition] = []
    if bound.value is None:
        return (Condition(column, "never"),)
    if previous.value is not None:
        conditions.append(Condition(column, "gte" if previous.strict else "gt", (previous.value,)))
    conditions.append(Condition(column, "lt" if bound.strict else "lte", (bound.value,)))
    return tuple(conditions)


def _sign(payload: bytes, key: bytes) -> bytes:
    return hmac.new(key, b"exporter-watermark\x00" + payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
