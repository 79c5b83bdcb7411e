"""The query string as ``(name, value)`` items, with invalid UTF-8 found rather than replaced.

Starlette's ``query_params`` decodes percent-escapes with ``errors="replace"``: ``%FF`` becomes
U+FFFD and would be bound and used as a filter, silently. Here a name or value that is not
UTF-8 is reported (the export is refused with 422); the items keep U+FFFD only so that the
refusal can be logged.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Scope

__all__ = ["read_query"]


def read_query(scope: Scope) -> tuple[list[tuple[str, str]], str | None]:
    """The items of ``scope``'s query string in order, with repeats, and the name of the first
    item that is not UTF-8 once percent-decoded (None when all are)."""
    raw = bytes(scope.get("query_string", b"")).decode("latin-1")
    items: list[tuple[str, str]] = []
    invalid: str | None = None
    for name, value in parse_qsl(raw, keep_blank_values=True, errors="surrogateescape"):
        if not (_is_utf8(name) and _is_utf8(value)):
            name, value = _replaced(name), _replaced(value)
            invalid = name if invalid is None else invalid
        items.append((name, value))
    return items, invalid


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: an undecodable byte, escaped
        return False
    return True


def _replaced(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
