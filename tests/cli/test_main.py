from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from exporter.access.keys import Authenticator, load_keys_file
from exporter.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def serve(
    sql_dir: Path, database_url: str, **env_overrides: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "EXPORTER_SQL_DIR": str(sql_dir),
           "EXPORTER_PORT": "1", "EXPORTER_AUTH": "off", **env_overrides}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "exporter.cli", "serve"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def logged_text(stderr: str) -> str:
    """The messages and tracebacks of a JSON log (the default when stderr is not a terminal)."""
    records = [json.loads(line) for line in stderr.splitlines()]
    return "\n".join(f"{r['message']}\n{r.get('exception', '')}" for r in records)


def test_a_malformed_export_stops_the_service_naming_file_and_line(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "broken.sql").write_text("-- Broken.\n-- param: x money\nSELECT :x\n")
    result = serve(tmp_path, database_url)
    assert result.returncode == 2
    assert f"{tmp_path / 'broken.sql'}:2: unknown parameter type 'money'" in logged_text(
        result.stderr
    )


def test_a_query_postgresql_rejects_stops_the_service_naming_file_and_line(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "typo.sql").write_text("-- Typo.\nSELECT id\nFROM demo.ordres\n")
    result = serve(tmp_path, database_url)
    assert result.returncode != 0
    logged = logged_text(result.stderr)
    assert f"{tmp_path / 'typo.sql'}:3: PostgreSQL rejects the query" in logged
    assert 'relation "demo.ordres" does not exist' in logged


def test_settings_lists_every_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exporter.cli", "settings"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "EXPORTER_FETCH_ROWS=1000\n" in result.stdout


def test_keys_new_prints_a_token_once_and_an_entry_that_accepts_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exporter.cli", "keys", "new", "--id", "reporting",
         "--exports", "orders, cust*"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    token = next(line for line in lines if line.startswith("exp_reporting_"))
    entry = result.stdout[result.stdout.index("[keys.reporting]") :]
    assert token not in entry
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text(entry)
    (key,) = load_keys_file(keys_file, Settings.from_env({}))
    assert key.exports == ("orders", "cust*")
    assert Authenticator([key]).authenticate(token) is key


def test_a_malformed_keys_file_stops_the_service_naming_file_line_and_field(
    tmp_path: Path, database_url: str
) -> None:
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text('[keys.a]\nsha256 = "' + "0" * 64 + '"\nexports = "orders"\n')
    result = serve(
        ROOT / "sql" / "exports", database_url,
        EXPORTER_AUTH="auto", EXPORTER_KEYS_FILE=str(keys_file),
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{keys_file}:3: keys.a.exports: must be a non-empty list" in result.stderr


def test_a_database_without_keys_is_never_served_silently_open(database_url: str) -> None:
    result = serve(ROOT / "sql" / "exports", database_url, EXPORTER_AUTH="auto")
    assert result.returncode == 2
    assert "DATABASE_URL is set but no API keys are configured" in result.stderr
    assert "EXPORTER_AUTH=off" in result.stderr
