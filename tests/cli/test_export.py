"""``exporter export``: a file that is complete or absent, and an exit code that says which."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from exporter.export.service import ExportService
from tests.support.streams import export_bytes


def run_export(
    *args: str, database_url: str, sql_dir: Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "EXPORTER_SQL_DIR": str(sql_dir),
        "EXPORTER_FETCH_ROWS_MIN": "1",
    }  # tiny batches on purpose
    return subprocess.run(
        [sys.executable, "-m", "exporter.cli", "export", *args],
        env=env, capture_output=True, timeout=120, check=False, cwd=cwd,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("output_name", "extra", "fmt", "decode"),
    [
        ("numbers.csv", [], "csv", lambda b: b),
        ("numbers.csv.gz", [], "csv", gzip.decompress),  # format and compression from the suffix
        ("out.bin", ["--format", "csv", "--compression", "gzip"], "csv", gzip.decompress),
        ("numbers.json", [], "json", lambda b: b),
        ("excel.csv", ["-p", "csv_delimiter=;", "-p", "csv_bom=true"], "csv", lambda b: b),
    ],
)
async def test_writes_exactly_the_streamed_bytes(
    service: ExportService,
    database_url: str,
    catalog_dir: Path,
    tmp_path: Path,
    output_name: str,
    extra: list[str],
    fmt: str,
    decode: object,
) -> None:
    target = tmp_path / output_name
    result = run_export(
        "numbers", "--param", "rows=3000", "--output", str(target), *extra,
        database_url=database_url, sql_dir=catalog_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    options = [p.partition("=")[::2] for p in extra[1::2] if p.startswith("csv_")]
    expected = await export_bytes(service, "numbers", fmt, [("rows", "3000"), *options])
    assert expected.startswith(b"\xef\xbb\xbfn;label;half\n") == bool(options)
    assert decode(target.read_bytes()) == expected  # type: ignore[operator]
    summary = result.stderr.decode()
    assert summary.count("\n") == 1  # not a terminal: one summary line, no progress redraws
    assert "3,000 rows" in summary and str(target) in summary and "sha256" in summary
    assert sorted(p.name for p in tmp_path.iterdir()) == [output_name]  # no temporary left


async def test_stdout_and_the_default_name(
    service: ExportService, database_url: str, catalog_dir: Path, tmp_path: Path
) -> None:
    piped = run_export(
        "numbers", "-p", "rows=10", "-f", "ndjson", "-o", "-",
        database_url=database_url, sql_dir=catalog_dir,
    )  # fmt: skip
    assert piped.returncode == 0
    assert piped.stdout == await export_bytes(service, "numbers", "ndjson", [("rows", "10")])
    named = run_export(
        "orders", "-f", "parquet", database_url=database_url, sql_dir=catalog_dir, cwd=tmp_path
    )
    assert named.returncode == 0, named.stderr
    (written,) = tmp_path.iterdir()
    assert written.name.startswith("orders-") and written.name.endswith(".parquet")
    assert pq.read_table(written).num_rows > 0


def test_a_failure_mid_export_leaves_no_file_and_keeps_the_old_one(
    database_url: str, catalog_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "report.csv"
    target.write_text("yesterday's report\n")
    result = run_export(
        "fails_at_row", "-o", str(target), "--fetch-rows", "10",
        database_url=database_url, sql_dir=catalog_dir,
    )  # fmt: skip
    assert result.returncode == 1
    message = result.stderr.decode()
    assert "division by zero" in message and f"nothing was written to {target}" in message
    assert target.read_text() == "yesterday's report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown export 'nope'"),
        (["numbers", "-p", "rows=many"], "parameter 'rows'"),
        (["numbers", "-p", "bogus=1"], "parameter 'bogus'"),
        (["numbers", "-p", "rows"], "expected NAME=VALUE"),
        (["numbers", "-f", "csv", "-p", "csv_delimiter=:"], "parameter 'csv_delimiter'"),
        (["numbers", "-o", "n.ndjson", "-p", "csv_bom=true"], "parameter 'csv_bom'"),
    ],
)
def test_bad_arguments_exit_2_naming_the_problem(
    database_url: str, catalog_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_export(*args, database_url=database_url, sql_dir=catalog_dir, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr.decode()
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_database_exits_75(catalog_dir: Path, tmp_path: Path) -> None:
    result = run_export(
        "numbers", database_url="postgresql://postgres@127.0.0.1:1/none", sql_dir=catalog_dir,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 75
    assert "cannot connect" in result.stderr.decode()


def test_no_database_url_exits_2(catalog_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "exporter.cli", "export", "numbers"],
        env={**env, "EXPORTER_SQL_DIR": str(catalog_dir)}, capture_output=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2 and b"DATABASE_URL is not set" in result.stderr


def test_sigterm_cancels_and_leaves_nothing(
    database_url: str, catalog_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "slow.csv"
    env = {**os.environ, "DATABASE_URL": database_url, "EXPORTER_SQL_DIR": str(catalog_dir),
           "EXPORTER_FETCH_ROWS_MIN": "1"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter.cli", "export", "slow_numbers", "-p", "rows=100000",
         "--fetch-rows", "10", "-o", str(target)],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not any(tmp_path.glob(".slow.csv.*.part")):  # writing has begun
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"interrupted" in stderr
    assert list(tmp_path.iterdir()) == []
