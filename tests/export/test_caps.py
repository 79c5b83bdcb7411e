"""Per-export row and byte caps: parsed from the SQL header, enforced by the service core
(so every caller, not only HTTP, gets them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.catalog.definitions import parse_export
from exporter.encoders import FORMATS
from exporter.errors import CatalogError, ExportCapExceeded
from exporter.export.pipeline import StreamStats
from exporter.export.service import ExportService
from exporter.units import parse_size_bytes
from tests.support.streams import export_bytes, stream_into


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_export("capped", text, Path("capped.sql"))


def test_caps_come_from_the_header() -> None:
    export = parse("-- Capped.\n-- max_rows: 1_000_000\n-- max_bytes: 2GB\nSELECT 1")
    assert (export.max_rows, export.max_bytes) == (1_000_000, 2 * 1024**3)
    assert export.description == "Capped."
    assert export.describe()["max_rows"] == 1_000_000
    assert (parse("SELECT 1").max_rows, parse("SELECT 1").max_bytes) == (None, None)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("-- max_rows: lots\nSELECT 1", 1, "max_rows: not a whole number: 'lots'"),
        ("-- max_rows: 0\nSELECT 1", 1, "max_rows: must be positive"),
        ("-- d\n-- max_bytes: 2 gigs\nSELECT 1", 2, "max_bytes: not a size"),
        ("-- max_bytes: 1kB\n-- max_bytes: 2kB\nSELECT 1", 2, "max_bytes declared twice"),
        ("-- max_row: 5\nSELECT 1", 1, "unknown directive 'max_row'; did you mean 'max_rows'?"),
    ],
)
def test_malformed_caps_name_the_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse(text)
    assert caught.value.line == line
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("text", "size_bytes"),
    [("1048576", 1048576), ("512kB", 512 * 1024), ("100 MB", 100 * 1024**2),
     ("2GiB", 2 * 1024**3), ("1_000B", 1000)],
)  # fmt: skip
def test_sizes_count_in_1024s_as_postgresql_does(text: str, size_bytes: int) -> None:
    assert parse_size_bytes(text) == size_bytes


@pytest.mark.parametrize("fmt", list(FORMATS))
async def test_exactly_max_rows_completes(service: ExportService, fmt: str) -> None:
    body = await export_bytes(service, "capped_rows", fmt, [("rows", "1000")])
    if fmt in ("csv", "ndjson"):
        assert body.count(b"\n") == 1000 + (fmt == "csv")


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("rows", [1001, 100_000])
async def test_one_row_past_max_rows_aborts_without_writing_it(
    service: ExportService, fmt: str, rows: int
) -> None:
    request = service.bind("capped_rows", [("rows", str(rows))])
    stats = StreamStats()
    written = bytearray()
    with pytest.raises(ExportCapExceeded) as caught:
        await stream_into(service, request, fmt, written, stats)
    assert (caught.value.cap, caught.value.limit) == ("max_rows", 1000)
    assert not stats.complete
    if fmt == "csv":
        assert 0 < written.count(b"\n") <= 1001  # the header and at most 1,000 rows
    if fmt == "ndjson":
        assert 0 < written.count(b"\n") <= 1000


@pytest.mark.parametrize("fmt", list(FORMATS))
async def test_output_past_max_bytes_aborts_before_crossing_it(
    service: ExportService, fmt: str
) -> None:
    small = await export_bytes(service, "capped_bytes", fmt, [("rows", "100")])
    assert len(small) <= 64 * 1024
    request = service.bind("capped_bytes", [("rows", "20000"), ("chunk_bytes", "4096")])
    stats = StreamStats()
    written = bytearray()
    with pytest.raises(ExportCapExceeded) as caught:
        await stream_into(service, request, fmt, written, stats)
    assert (caught.value.cap, caught.value.limit) == ("max_bytes", 64 * 1024)
    # COPY hands over whole socket reads: its first piece may already cross the cap.
    assert len(written) <= 64 * 1024
    assert not stats.complete


def test_the_command_line_export_enforces_the_caps_too(
    database_url: str, catalog_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "capped.csv"
    env = {**os.environ, "DATABASE_URL": database_url, "EXPORTER_SQL_DIR": str(catalog_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "exporter.cli", "export", "capped_rows", "-p", "rows=1001",
         "-o", str(target)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "exceeded its max_rows of 1,000" in result.stderr
    assert not target.exists()
