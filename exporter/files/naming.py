"""Names of export files, shared by HTTP downloads, job files and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime


def export_filename(export_name: str, extension: str, now: datetime | None = None) -> str:
    """``orders-20261125T101500.123456Z.csv``: the export, when it was taken (UTC, to the
    microsecond: two ``curl -OJ`` downloads started in the same second must not get one name,
    curl refuses to overwrite), the format."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{export_name}-{stamp}.{extension}"
