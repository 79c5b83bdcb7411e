"""Every shell example in the README runs, as written, against a live server.

The blocks are read from README.md itself (only the host, the database and the target folder
are substituted), so an example that stops working fails here first.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.servers import LiveServer

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(sh|cron)\n(.*?)```", README, flags=re.S)
README_HOST = "http://127.0.0.1:8000"
#: The README's first block is the two commands; the whole suite is their test.
SETUP_BLOCK = "make serve"


def shell_blocks() -> list[str]:
    return [body for kind, body in BLOCKS if kind == "sh" and SETUP_BLOCK not in body]


def cron_lines() -> tuple[dict[str, str], list[str]]:
    """(environment lines, commands) of the README's crontab block."""
    (body,) = [body for kind, body in BLOCKS if kind == "cron"]
    env, commands = {}, []
    for line in body.strip().splitlines():
        if re.fullmatch(r"[A-Z_]+=\S+", line):
            name, value = line.split("=", 1)
            env[name] = value
        else:
            commands.append(line.split(None, 5)[5])  # after minute hour day month weekday
    return env, commands


def run(
    script: str, *, cwd: Path, env: dict[str, str], shell: str = "bash"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shell, "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def recipe_env(live_server: LiveServer) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "EXPORTER_SERVER_URL": live_server.base_url}  # fmt: skip


def test_the_readme_has_the_blocks_this_test_runs() -> None:
    assert len(shell_blocks()) >= 3
    _, commands = cron_lines()
    assert len(commands) == 1


@pytest.mark.parametrize("block", shell_blocks(), ids=lambda b: b.split()[1][:20])
def test_each_shell_example_runs(
    block: str, live_server: LiveServer, recipe_env: dict[str, str], tmp_path: Path
) -> None:
    script = block.replace(README_HOST, live_server.base_url)
    result = run(script, cwd=tmp_path, env=recipe_env)
    assert result.returncode == 0, f"{script}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    if "-OJ" in script or " -o " in script:
        assert [p for p in tmp_path.iterdir() if p.stat().st_size > 0], "no file written"


def test_a_failing_curl_example_saves_no_error_body_as_the_file(
    live_server: LiveServer, recipe_env: dict[str, str], tmp_path: Path
) -> None:
    (download,) = [b for b in shell_blocks() if "-OJ" in b]
    script = download.replace(README_HOST, live_server.base_url).replace(
        "since=2025-01-01", "since=not-a-date"
    )
    result = run(script, cwd=tmp_path, env=recipe_env)
    assert result.returncode == 22  # curl --fail: HTTP error
    assert list(tmp_path.iterdir()) == []


def test_the_cron_line_is_quiet_when_it_works_and_loud_when_it_does_not(
    database_url: str, tmp_path: Path
) -> None:
    _, (command,) = cron_lines()
    command = command.replace("/srv/exporter", str(ROOT)).replace("/data/", f"{tmp_path}/")
    env = {**os.environ, "DATABASE_URL": database_url}
    works = run(command, cwd=tmp_path, env=env, shell="sh")
    assert (works.returncode, works.stdout, works.stderr) == (0, "", "")
    assert (tmp_path / "orders.parquet").stat().st_size > 0

    broken = run(command.replace("since=2026-01-01", "since=someday"), cwd=tmp_path, env=env,
                 shell="sh")  # fmt: skip
    assert "orders export failed (2)" in broken.stdout
    assert "since" in broken.stdout  # the reason, for the mail


def test_the_jobs_example_resumes_and_verifies(
    server_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """The job example against a server whose worker polls quickly (the shared one is idle)."""
    server = server_factory(EXPORTER_JOBS_POLL="0.2s")
    (block,) = [b for b in shell_blocks() if "exporter jobs" in b]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "EXPORTER_SERVER_URL": server.base_url}  # fmt: skip
    result = run(block, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "sha256 verified" in result.stderr
    assert (tmp_path / "orders.parquet").stat().st_size > 0
