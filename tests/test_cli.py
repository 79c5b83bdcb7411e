from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def serve(sql_dir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "EXPORTER_SQL_DIR": str(sql_dir),
           "EXPORTER_PORT": "1"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "exporter.cli", "serve"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_malformed_export_stops_the_service_naming_file_and_line(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "broken.sql").write_text("-- Broken.\n-- param: x money\nSELECT :x\n")
    result = serve(tmp_path, database_url)
    assert result.returncode == 2
    assert f"{tmp_path / 'broken.sql'}:2: unknown parameter type 'money'" in result.stderr


def test_a_query_postgresql_rejects_stops_the_service_naming_file_and_line(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "typo.sql").write_text("-- Typo.\nSELECT id\nFROM demo.ordres\n")
    result = serve(tmp_path, database_url)
    assert result.returncode != 0
    assert f"{tmp_path / 'typo.sql'}:3: PostgreSQL rejects the query" in result.stderr
    assert 'relation "demo.ordres" does not exist' in result.stderr


def test_settings_lists_every_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exporter.cli", "settings"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "EXPORTER_FETCH_ROWS=1000\n" in result.stdout
