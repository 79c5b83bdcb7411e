"""Taking a PostgreSQL URL apart: where its server listens, and the URL with a password.

The embedded server listens on a Unix socket only (``postgresql://postgres:@/db?host=<dir>``),
the local one on TCP; every test must work with either, so none may assume a host and port.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a server listens: a Unix socket file, or a TCP host and port."""

    socket_path: str | None = None
    host: str | None = None
    port: int = 5432

    @property
    def kind(self) -> str:
        return "socket" if self.socket_path else "tcp"


def endpoint_of(url: str) -> Endpoint:
    """The server ``url`` connects to (libpq's rules: ``host=`` in the query wins)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or ""])[0]
    port = int(query.get("port", [parts.port or 5432])[0])
    if not host or host.startswith("/"):
        directory = host or "/var/run/postgresql"
        return Endpoint(socket_path=f"{directory}/.s.PGSQL.{port}", port=port)
    return Endpoint(host=host, port=port)


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` for its user, wherever its server listens."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def through(url: str, tcp_port: int) -> str:
    """``url`` sent to 127.0.0.1:``tcp_port`` instead (a proxy in front of its server)."""
    parts = urlsplit(url)
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not pair.startswith(("host=", "port="))
    )
    netloc = f"{parts.username or ''}@127.0.0.1:{tcp_port}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))
