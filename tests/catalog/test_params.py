from __future__ import annotations

from pathlib import Path

import pytest

from exporter.catalog.definitions import ExportDefinition, parse_export
from exporter.catalog.params import (
    Bounds,
    CsvOptions,
    bind_request,
    loggable_params,
    secret_values,
)
from exporter.errors import InvalidParameter

BOUNDS = Bounds(
    fetch_rows_default=1000, fetch_rows_max=5000, chunk_bytes_default=65536, chunk_bytes_max=1 << 20
)
ECHO = Path(__file__).resolve().parents[1] / "exports" / "echo.sql"


@pytest.fixture(scope="module")
def echo() -> ExportDefinition:
    return parse_export("echo", ECHO.read_text(), ECHO)


def test_defaults_fill_in_and_values_come_out_canonical(echo: ExportDefinition) -> None:
    request = bind_request(
        echo,
        [("i", "+42"), ("n", "-1.50e3"), ("ok", "YES"), ("ts", "2024-05-06 07:08:09+02:00")],
        BOUNDS,
    )
    assert request.named_values["i"] == "42"
    assert request.named_values["n"] == "-1.50e3"  # numeric text passes through, every digit
    assert request.named_values["ok"] == "true"
    assert request.named_values["ts"] == "2024-05-06T07:08:09+02:00"
    assert request.named_values["t"] == "plain"
    assert request.values == tuple(request.named_values[p.name] for p in echo.params)
    assert (request.fetch_rows, request.chunk_bytes, request.format_name) == (1000, 65536, None)


@pytest.mark.parametrize(
    ("items", "name", "reason"),
    [
        ([("i", "1"), ("i", "2")], "i", "given more than once"),
        ([("nope", "1")], "nope", "unknown parameter for export 'echo'"),
        ([("i", "1.5")], "i", "not an integer"),
        ([("i", "2147483648")], "i", "out of range [-2147483648, 2147483647]"),
        ([("b", "9223372036854775808")], "b", "out of range"),
        ([("i", " 1")], "i", "not an integer"),
        ([("n", "1,5")], "n", "not a decimal number"),
        ([("f", "1e999")], "f", "out of range"),
        ([("ok", "maybe")], "ok", "not a boolean"),
        ([("d", "2024-02-30")], "d", "not a valid date"),
        ([("d", "24-01-01")], "d", "not a date (YYYY-MM-DD)"),
        ([("ts", "yesterday")], "ts", "not an ISO 8601 timestamp"),
        ([("u", "not-a-uuid")], "u", "not a UUID"),
        ([("t", "a\x00b")], "t", "contains a NUL character"),
        ([("fetch_rows", "0")], "fetch_rows", "expected an integer in [1, 5000]"),
        ([("fetch_rows", "5001")], "fetch_rows", "expected an integer in [1, 5000]"),
        ([("chunk_bytes", "12kb")], "chunk_bytes", "expected an integer in [1024, 1048576]"),
        ([("format", "csv"), ("format", "csv")], "format", "given more than once"),
        ([("csv_delimiter", ":")], "csv_delimiter", "expected one of , ; | or a tab"),
        ([("csv_delimiter", ";;")], "csv_delimiter", "got ';;'"),
        ([("csv_bom", "1")], "csv_bom", "expected true or false, got '1'"),
        ([("csv_header", "no")], "csv_header", "expected true or false"),
        ([("format", "ndjson"), ("csv_bom", "true")], "csv_bom", "format=csv only"),
        ([("csv_header", "true"), ("format", "parquet")], "csv_header", "not to parquet"),
    ],
)
def test_rejects_bad_values_naming_the_parameter(
    echo: ExportDefinition, items: list[tuple[str, str]], name: str, reason: str
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        bind_request(echo, items, BOUNDS)
    assert caught.value.name == name
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("items", "options"),
    [
        ([], CsvOptions()),
        ([("csv_delimiter", ";"), ("csv_bom", "true")], CsvOptions(delimiter=";", bom=True)),
        ([("csv_delimiter", "\t"), ("csv_header", "false")],
         CsvOptions(delimiter="\t", header=False)),
        ([("csv_delimiter", "tab")], CsvOptions(delimiter="\t")),
        ([("csv_delimiter", "|"), ("format", "csv")], CsvOptions(delimiter="|")),
    ],
)  # fmt: skip
def test_csv_options(
    echo: ExportDefinition, items: list[tuple[str, str]], options: CsvOptions
) -> None:
    request = bind_request(echo, items, BOUNDS)
    assert request.csv == options
    request.check_format("csv")
    if request.csv_given:
        with pytest.raises(InvalidParameter) as refused:
            request.check_format("ndjson")  # Accept chose another format after binding
        assert refused.value.name in dict(items)
    else:
        request.check_format("ndjson")


def test_required_parameter_must_be_given() -> None:
    export = parse_export("r", "-- param: status text\nSELECT :status", Path("r.sql"))
    with pytest.raises(InvalidParameter, match="'status': required; expected text"):
        bind_request(export, [], BOUNDS)


def test_knobs_within_bounds_are_taken(echo: ExportDefinition) -> None:
    request = bind_request(
        echo, [("fetch_rows", "5000"), ("chunk_bytes", "1024"), ("format", "csv")], BOUNDS
    )
    assert (request.fetch_rows, request.chunk_bytes, request.format_name) == (5000, 1024, "csv")


def test_a_long_bad_value_is_cut_short_in_the_message(echo: ExportDefinition) -> None:
    with pytest.raises(InvalidParameter) as caught:
        bind_request(echo, [("i", "9" * 1_000_000 + "x")], BOUNDS)
    assert len(str(caught.value)) < 200


SECRETS = parse_export(
    "secrets",
    "-- param: token text sensitive\n-- param: pin integer sensitive = 1234\n"
    "-- param: label text = public\nSELECT :token, :pin, :label",
    Path("secrets.sql"),
)


def test_a_bad_sensitive_value_is_not_quoted_in_the_reason() -> None:
    with pytest.raises(InvalidParameter) as caught:
        bind_request(SECRETS, [("token", "t"), ("pin", "hunter2-not-a-number")], BOUNDS)
    assert caught.value.name == "pin"
    assert "hunter2" not in str(caught.value)
    assert caught.value.reason == "expected a 32-bit integer, got [redacted]"


def test_loggable_values_redact_sensitive_ones_defaults_included() -> None:
    request = bind_request(SECRETS, [("token", "s3cret"), ("format", "csv")], BOUNDS)
    assert request.loggable_values() == {"token": "[redacted]", "pin": "[redacted]",
                                         "label": "public"}  # fmt: skip
    assert secret_values(SECRETS, request.named_values.items()) == ["s3cret", "1234"]
    assert secret_values(SECRETS, [("tokn", "typo"), ("label", "x"), ("format", "csv")]) == ["typo"]


def test_loggable_raw_items_show_only_declared_non_sensitive_values() -> None:
    items = [("label", "x" * 1000), ("tokn", "typo-of-a-secret"), ("token", "s"), ("format", "csv")]
    logged = loggable_params(SECRETS, items)
    assert logged is not None
    assert logged["tokn"] == logged["token"] == "[redacted]"
    assert logged["label"] == "x" * 200 + "…"
    assert "format" not in logged
    assert loggable_params(None, items) is None  # unknown export: nothing says what is secret
