from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from exporter.observability.logs import (
    REQUEST_ID,
    JsonFormatter,
    TextFormatter,
    choose_log_format,
    redact_secrets,
    redact_url,
)
from exporter.settings import LogFormat

DSN = "postgresql://alice:s3cr%40t@db.internal:5432/shop"


def record(
    message: str, *args: object, name: str = "exporter.test", **extra: object
) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_json_lines_carry_request_id_and_fields() -> None:
    token = REQUEST_ID.set("req-1")
    try:
        line = JsonFormatter().format(
            record("export %s done", "orders", fields={"rows": 3, "params": {"a": "b"}})
        )
    finally:
        REQUEST_ID.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "export orders done"
    assert (entry["level"], entry["logger"], entry["request_id"]) == (
        "info",
        "exporter.test",
        "req-1",
    )
    assert (entry["rows"], entry["params"]) == (3, {"a": "b"})
    assert entry["ts"].endswith("+00:00")


def test_a_field_cannot_overwrite_the_message_or_level() -> None:
    entry = json.loads(
        JsonFormatter().format(record("real", fields={"message": "forged", "level": "x"}))
    )
    assert (entry["message"], entry["level"]) == ("real", "info")


def test_passwords_in_urls_are_redacted_in_messages_and_tracebacks() -> None:
    try:
        raise ConnectionError(f"cannot reach {DSN}")
    except ConnectionError:
        failed = record("connecting to %s", DSN, exc_info=sys.exc_info())
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(failed)
        assert "s3cr" not in line
        assert line.count("postgresql://alice:***@db.internal:5432/shop") == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (DSN, "postgresql://alice:***@db.internal:5432/shop"),
        ("postgres://:pw@h/db and http://h:8080/x", "postgres://:***@h/db and http://h:8080/x"),
        ("host=h password=hunter2 user=u", "host=h password=*** user=u"),
        (
            '{"a":"http://h:80","b":"postgresql://u@h/d"}',
            '{"a":"http://h:80","b":"postgresql://u@h/d"}',
        ),
        ('{"u":"postgresql://u:p\\"w@h/d"}', '{"u":"postgresql://u:***@h/d"}'),
    ],
)
def test_redact_secrets(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


def test_redact_url_keeps_everything_but_the_password() -> None:
    assert redact_url(DSN) == "postgresql://alice:***@db.internal:5432/shop"
    assert redact_url("postgresql://bob@h/db") == "postgresql://bob@h/db"


def test_text_lines_read_as_a_sentence_then_fields() -> None:
    token = REQUEST_ID.set("req-2")
    try:
        line = TextFormatter().format(
            record("export done", fields={"rows": 3, "cause": None, "error": "a b"})
        )
    finally:
        REQUEST_ID.reset(token)
    assert line.endswith(' INFO exporter.test [req-2] export done rows=3 error="a b"')


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert choose_log_format(LogFormat.AUTO, is_terminal=True) == "text"
    assert choose_log_format(LogFormat.AUTO, is_terminal=False) == "json"
    assert choose_log_format(LogFormat.JSON, is_terminal=True) == "json"
    assert choose_log_format(LogFormat.TEXT, is_terminal=False) == "text"


def test_configured_logging_turns_every_record_into_one_json_line() -> None:
    # In a child process: configuring logging here would replace pytest's own handlers.
    script = """
import logging, warnings
from exporter.observability.logs import configure_logging
from exporter.settings import LogFormat
assert configure_logging(LogFormat.AUTO) == "json"  # stderr is a pipe
logging.getLogger("uvicorn.access").info(
    '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/exports/x?token=SECRET", "1.1", 200
)
logging.getLogger("uvicorn.error").info("Started server process [%d]", 1)
warnings.warn("a library complains")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("exporter").exception("multi\\nline")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == ""
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["logger"] for e in entries] == [
        "uvicorn.access",
        "uvicorn.error",
        "py.warnings",
        "exporter",
    ]
    access = entries[0]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/exports/x", 200)
    assert "SECRET" not in result.stderr  # the query string never reaches the log
    assert "ZeroDivisionError" in entries[3]["exception"]


@pytest.mark.parametrize(
    ("path", "kept"),
    [("/x\r\n2026-01-01 00:00:00 INFO exporter forged", "INFO exporter forged"),
     ("/\x1b[2J\x1b[31mred", "[31mred"), ("/a\x00\x7f\x85b", "/a")],
)  # fmt: skip
def test_text_lines_escape_control_characters_from_clients(path: str, kept: str) -> None:
    access = record('%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "GET", path, "1.1", 404,
                    name="uvicorn.access")  # fmt: skip
    field = record("refused", fields={"export": path})
    for line in (TextFormatter().format(access), TextFormatter().format(field)):
        assert line.isprintable(), line  # no CR, LF, ESC, NUL, DEL or C1 left raw
        assert kept in line  # the rest is kept as it was
