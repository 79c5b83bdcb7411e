"""Issue 19, High 4 and finding 15: ``exporter export -o PATH`` replaces only a regular file
(or creates a missing one), writes devices and FIFOs in place, follows a symlink explicitly,
keeps a replaced file's mode and owner, and creates new files 0600 (``EXPORTER_FILE_MODE``)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROWS = "500"


def run_export(
    *args: str, database_url: str, sql_dir: Path, **env: str
) -> subprocess.CompletedProcess[bytes]:
    environ = {**os.environ, "DATABASE_URL": database_url, "EXPORTER_SQL_DIR": str(sql_dir), **env}
    return subprocess.run(
        [sys.executable, "-m", "exporter.cli", "export", *args],
        env=environ, capture_output=True, timeout=120, check=False,
    )  # fmt: skip


def _export(
    output: str, database_url: str, catalog_dir: Path, **env: str
) -> subprocess.CompletedProcess[bytes]:
    return run_export(
        "numbers", "-p", f"rows={ROWS}", "-f", "csv", "-o", output,
        database_url=database_url, sql_dir=catalog_dir, **env,
    )  # fmt: skip


def _csv_lines(data: bytes) -> int:
    return data.count(b"\n")


def test_a_character_device_is_written_not_replaced(
    database_url: str, catalog_dir: Path, tmp_path: Path
) -> None:
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
    result = _export(str(null), database_url, catalog_dir)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert os.lstat(null).st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no temporary left


def test_a_fifo_is_written_into(database_url: str, catalog_dir: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = _export(str(fifo), database_url, catalog_dir)
    reader.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _csv_lines(received[0]) == int(ROWS) + 1


def test_the_process_s_own_stdout_is_written_in_place(database_url: str, catalog_dir: Path) -> None:
    # /dev/fd/1, not /dev/stdout: code without the fix would replace the machine's /dev/stdout
    # with a regular file (it did, once); under /dev/fd (that is /proc) it can only fail.
    result = _export("/dev/fd/1", database_url, catalog_dir)
    assert result.returncode == 0, result.stderr
    assert _csv_lines(result.stdout) == int(ROWS) + 1


def test_a_symlink_is_followed_and_kept(
    database_url: str, catalog_dir: Path, tmp_path: Path
) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    result = _export(str(link), database_url, catalog_dir)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == real
    assert _csv_lines(real.read_bytes()) == int(ROWS) + 1


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
def test_a_replaced_file_keeps_its_mode_and_owner(
    database_url: str, catalog_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "kept.csv"
    target.write_text("old\n")
    os.chown(target, 65534, 65534)
    target.chmod(0o640)
    result = _export(str(target), database_url, catalog_dir)
    assert result.returncode == 0, result.stderr
    info = os.stat(target)
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 65534, 65534)
    assert _csv_lines(target.read_bytes()) == int(ROWS) + 1


@pytest.mark.parametrize(("setting", "mode"), [(None, 0o600), ("0644", 0o644)])
def test_new_files_are_private_unless_a_setting_says_otherwise(
    database_url: str, catalog_dir: Path, tmp_path: Path, setting: str | None, mode: int
) -> None:
    target = tmp_path / "new.csv"
    env = {} if setting is None else {"EXPORTER_FILE_MODE": setting}
    result = _export(str(target), database_url, catalog_dir, **env)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == mode


def test_a_directory_fails_before_the_export(
    database_url: str, catalog_dir: Path, tmp_path: Path
) -> None:
    result = run_export(
        "slow_numbers", "-p", "rows=100000", "-o", str(tmp_path),
        database_url=database_url, sql_dir=catalog_dir,
    )  # fmt: skip
    assert result.returncode == 2
    assert b"is a directory" in result.stderr
    assert b"rows" not in result.stderr  # nothing ran
    assert list(tmp_path.iterdir()) == []
