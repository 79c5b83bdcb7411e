"""Choosing the output format (``format=`` or ``Accept``) and naming the download."""

from __future__ import annotations

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
from exporter.errors import UnsupportedFormat
from exporter.files.naming import export_filename


def choose_format(format_param: str | None, accept: str | None) -> Format:
    """``format=`` wins; else the best ``Accept`` match; else NDJSON."""
    if format_param is not None:
        return get_format(format_param)
    if not accept:
        return DEFAULT_FORMAT
    best: tuple[tuple[float, int], Format] | None = None
    for media_range, quality in _media_ranges(accept):
        candidate = _match(media_range)
        if quality <= 0 or candidate is None:
            continue
        # Higher quality wins, then an exact type over a wildcard, then the one listed first.
        rank = (quality, 0 if "*" in media_range else 1)
        if best is None or rank > best[0]:
            best = (rank, candidate)
    if best is None:
        raise UnsupportedFormat(accept, supported_media_types())
    return best[1]


def _match(media_range: str) -> Format | None:
    if media_range in ("*/*", "application/*"):
        return DEFAULT_FORMAT
    if media_range == "text/*":
        return FORMATS["csv"]
    return format_for_media_type(media_range)


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media_range = pieces[0].lower()
        if not media_range:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media_range, quality))
    return ranges


def download_filename(export_name: str, output: Format, now: datetime | None = None) -> str:
    """``orders-20261125T101500Z.csv``."""
    return export_filename(export_name, output.extension, now)


def content_disposition(filename: str) -> str:
    """``attachment`` with the filename; RFC 5987 ``filename*`` when it is not plain ASCII."""
    if filename.isascii():
        return f'attachment; filename="{filename}"'
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
