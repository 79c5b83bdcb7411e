"""Names of export files, shared by HTTP downloads, job files and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime


def export_filename(export_name: str, extension: str, now: datetime | None = None) -> str:
    """``orders-20261125T101500Z.csv``: the export, when it was taken (UTC), the format."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{export_name}-{stamp}.{extension}"
