"""A real PgBouncer (Debian's package) on a free loopback port, in front of a test server.

PgBouncer refuses to run as root, so it runs as an unprivileged OS user: the owner of the
server's socket directory when the server listens on a Unix socket (the embedded one: nobody
else may enter that directory), else ``postgres``. Its ini, user list, log and pid file live in
a temporary directory of that user's, removed again by ``stop``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.database_urls import endpoint_of, through

PGBOUNCER = "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class PgBouncer:
    """A running PgBouncer; ``url(database_url)`` is that URL sent through it."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def url(self, database_url: str) -> str:
        return through(database_url, self.port)

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _run_as(server_url: str) -> str:
    """The OS user PgBouncer runs as: one that can reach the server (see the module doc)."""
    endpoint = endpoint_of(server_url)
    if endpoint.socket_path:
        owner = pwd.getpwuid(os.stat(os.path.dirname(endpoint.socket_path)).st_uid).pw_name
        if owner != "root":
            return owner
    return "postgres"


def _ini(
    server_url: str,
    directory: Path,
    port: int,
    *,
    pool_mode: str,
    pool_size: int,
    connect_query: str,
) -> str:
    endpoint = endpoint_of(server_url)
    if endpoint.socket_path:
        target = f"host={os.path.dirname(endpoint.socket_path)} port={endpoint.port}"
    else:
        target = f"host={endpoint.host} port={endpoint.port}"
    user = urlsplit(server_url).username or "postgres"
    if connect_query:
        # A database option: single-quoted, quotes inside doubled.
        target += " connect_query='{}'".format(connect_query.replace("'", "''"))
    return f"""\
[databases]
* = {target} user={user}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = {pool_mode}
; Fewer server connections than the service's pool opens: clients must share them.
default_pool_size = {pool_size}
max_client_conn = 200
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""


@contextmanager
def running_pgbouncer(
    server_url: str,
    *,
    pool_mode: str = "transaction",
    pool_size: int = 3,
    connect_query: str = "",
) -> Iterator[PgBouncer]:
    """PgBouncer in ``pool_mode`` in front of ``server_url``'s server; stopped afterwards.

    ``pool_size``: server connections per database and user. ``connect_query``: SQL each new
    server connection runs first (to hand clients sessions set up unlike their own).

    Fails (never skips) when PgBouncer is not installed: ``.ci/run`` installs it.
    """
    if not os.access(PGBOUNCER, os.X_OK):
        raise AssertionError(f"{PGBOUNCER} is missing: apt-get install pgbouncer (.ci/run does)")
    user = _run_as(server_url)
    directory = Path(tempfile.mkdtemp(prefix="exporter-pgbouncer-"))
    entry = pwd.getpwnam(user)
    os.chown(directory, entry.pw_uid, entry.pw_gid)
    port = free_port()
    (directory / "pgbouncer.ini").write_text(
        _ini(
            server_url,
            directory,
            port,
            pool_mode=pool_mode,
            pool_size=pool_size,
            connect_query=connect_query,
        )
    )
    login = urlsplit(server_url).username or "postgres"
    (directory / "userlist.txt").write_text(f'"{login}" ""\n')
    process = subprocess.Popen(
        [PGBOUNCER, "-u", user, str(directory / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    bouncer = PgBouncer(port, directory, process)
    try:
        _wait_listening(bouncer)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_listening(bouncer: PgBouncer) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if bouncer.process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", bouncer.port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"PgBouncer did not start:\n{bouncer.log()}")
