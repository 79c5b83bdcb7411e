"""Choosing the output format (``format=`` or ``Accept``), the content coding
(``Accept-Encoding``) and naming the download."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from exporter.encoders import (
    DEFAULT_FORMAT,
    FORMATS,
    Format,
    format_for_media_type,
    get_format,
    supported_media_types,
)
from exporter.errors import UnacceptableEncoding, UnsupportedFormat
from exporter.files.naming import export_filename

#: Below any quality a client can write (q has three decimals): an identity the client did not
#: mention is acceptable, but any coding it lists with q > 0 is preferred to it.
_UNLISTED_IDENTITY_Q = 0.0001
#: RFC 9110 12.4.2: ``qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )``.
_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")
#: Most characters of a client's header a 406 body repeats (a header may be 64 KiB).
_SHOWN_CHARS = 200
#: Old names RFC 9110 asks recipients to treat as the coding they stand for.
_CODING_ALIASES = {"x-gzip": "gzip"}


def choose_format(format_param: str | None, accept: str | None) -> Format:
    """``format=`` wins; else the best ``Accept`` match; else NDJSON."""
    if format_param is not None:
        return get_format(format_param)
    if not accept:
        return DEFAULT_FORMAT
    best: tuple[tuple[float, int], Format] | None = None
    for media_range, quality in _weighted_items(accept):
        candidate = _match(media_range)
        if quality <= 0 or candidate is None:
            continue
        # Higher quality wins, then an exact type over a wildcard, then the one listed first.
        rank = (quality, 0 if "*" in media_range else 1)
        if best is None or rank > best[0]:
            best = (rank, candidate)
    if best is None:
        raise UnsupportedFormat(_shown(accept), supported_media_types())
    return best[1]


def _match(media_range: str) -> Format | None:
    if media_range in ("*/*", "application/*"):
        return DEFAULT_FORMAT
    if media_range == "text/*":
        return FORMATS["csv"]
    return format_for_media_type(media_range)


def choose_coding(
    accept_encoding: str | None, offered: Sequence[str], *, wanted: bool = True
) -> str | None:
    """The content coding to send, from ``offered`` (most preferred first); None: identity.

    ``wanted``: the response is one we compress when the client allows it; when it is not,
    it goes out as is unless the client refuses identity. No ``Accept-Encoding`` at all means
    identity: a client that does not ask gets no surprise. Otherwise per RFC 9110 12.5.3: the
    highest q wins, ``*`` stands for every coding not listed, q=0 excludes, a tie goes to the
    offer listed first (and to a coding over identity). ``UnacceptableEncoding`` when identity
    is refused (``identity;q=0``, or ``*;q=0`` without identity) and no offer is acceptable.
    """
    if accept_encoding is None:
        return None
    qualities: dict[str, float] = {}
    for coding, quality in _weighted_items(accept_encoding):
        qualities.setdefault(_CODING_ALIASES.get(coding, coding), quality)
    star = qualities.get("*")
    best: tuple[float, str] | None = None
    for coding in offered:
        quality = qualities.get(coding, star if star is not None else 0.0)
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, coding)
    identity_q = qualities.get("identity", star if star is not None else _UNLISTED_IDENTITY_Q)
    if identity_q > 0 and (not wanted or best is None or identity_q > best[0]):
        return None
    if best is None:
        raise UnacceptableEncoding(_shown(accept_encoding), offered)
    return best[1]


def _weighted_items(header: str) -> list[tuple[str, float]]:
    """``Accept``-style items, lower-cased, with their q values (1 when not given).

    An item whose q is not an RFC 9110 qvalue (``nan``, ``inf``, ``-1``, ``2``, ``abc``) is
    left out, as if not listed: ``identity;q=nan`` refuses nothing.
    """
    items = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        item = pieces[0].lower()
        if not item:
            continue
        quality: float | None = 1.0
        for parameter in pieces[1:]:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _QVALUE.fullmatch(value) else None
        if quality is not None:
            items.append((item, quality))
    return items


def content_type(output: Format, *, csv_header: bool = True) -> str:
    """The ``Content-Type`` of ``output``; CSV says whether its header line is there (RFC
    4180's ``header`` parameter)."""
    if output.name == "csv" and not csv_header:
        return output.content_type.replace("header=present", "header=absent")
    return output.content_type


def _shown(header: str) -> str:
    """A header as an error may echo it: at most ``_SHOWN_CHARS`` characters."""
    return header if len(header) <= _SHOWN_CHARS else header[:_SHOWN_CHARS] + "…"


def download_filename(export_name: str, output: Format, now: datetime | None = None) -> str:
    """``orders-20261125T101500.123456Z.csv``."""
    return export_filename(export_name, output.extension, now)


def content_disposition(filename: str) -> str:
    """``attachment`` with the filename; RFC 5987 ``filename*`` when it is not plain ASCII."""
    if filename.isascii():
        return f'attachment; filename="{filename}"'
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
