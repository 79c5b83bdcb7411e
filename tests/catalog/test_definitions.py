from __future__ import annotations

from pathlib import Path

import pytest

from exporter.catalog.definitions import load_catalog, parse_export
from exporter.errors import CatalogError, UnknownExport

ROOT = Path(__file__).resolve().parents[2]


def parse(text: str, name: str = "sample"):  # type: ignore[no-untyped-def]
    return parse_export(name, text, Path(f"{name}.sql"))


def test_parses_header_and_rewrites_placeholders() -> None:
    export = parse(
        "-- Orders placed in a period,\n"
        "-- with their customer.\n"
        "-- param: since date = 2024-01-01\n"
        "-- param: status text\n"
        "\n"
        "SELECT o.id, o.created_at::date FROM demo.orders o\n"
        "WHERE o.created_at >= :since AND o.status = :status AND :since < now();\n"
    )
    assert export.description == "Orders placed in a period, with their customer."
    assert [(p.name, p.type.name, p.default, p.required) for p in export.params] == [
        ("since", "date", "2024-01-01", False),
        ("status", "text", None, True),
    ]
    assert export.sql == (
        "SELECT o.id, o.created_at::date FROM demo.orders o\n"
        "WHERE o.created_at >= $1::date AND o.status = $2::text AND $1::date < now()\n"
    )
    assert "NULL::date" in export.null_sql and "$" not in export.null_sql
    assert export.body_line == 6
    assert export.file_line(export.sql.index("WHERE")) == 7


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("-- param: x money\nSELECT :x", 1, "unknown parameter type 'money'"),
        ("SELECT :x", 1, "placeholder :x has no '-- param:' declaration"),
        ("-- param: x int\n-- param: y int\nSELECT :x", 2, "parameter 'y' is never used"),
        ("-- param: x int\n-- param: x text\nSELECT :x", 2, "parameter 'x' declared twice"),
        ("-- param: x int = ten\nSELECT :x", 1, "default of 'x': not an integer"),
        ("-- param: format text\nSELECT :format", 1, "parameter name 'format' is reserved"),
        ("-- param: compress text\nSELECT :compress", 1, "parameter name 'compress' is reserved"),
        ("-- param: 9x int\nSELECT 1", 1, "parameter name '9x' is not an identifier"),
        ("-- param:\nSELECT 1", 1, "expected '-- param: <name> <type> [sensitive] ["),
        ("-- param: x sensitive\nSELECT :x", 1, "unknown parameter type 'sensitive'"),
        ("-- param: x money sensitive\nSELECT :x", 1, "unknown parameter type 'money'"),
        ("-- params: x int\nSELECT 1", 1, "unknown directive 'params'; did you mean 'param'?"),
        ("-- d\n\nSELECT 'open", 3, "unterminated string literal"),
        ("-- only a comment\n", None, "no SQL statement after the header"),
    ],
)
def test_rejects_malformed_files_naming_the_line(text: str, line: int | None, reason: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse(text)
    assert caught.value.line == line
    assert caught.value.reason.startswith(reason)
    assert str(caught.value).startswith(f"sample.sql:{line}" if line else "sample.sql")


def test_a_comment_on_the_last_line_cannot_swallow_a_wrapper() -> None:
    export = parse("-- param: n int\nSELECT :n AS n -- the end, no newline")
    for rendering in (export.sql, export.null_sql, export.copy_sql):
        assert f"COPY ({rendering}) TO STDOUT".endswith("\n) TO STDOUT")


def test_param_type_aliases_and_typed_defaults() -> None:
    export = parse(
        "-- param: a int = 007\n-- param: b double precision = 1e3\n"
        "-- param: c bool = yes\n-- param: d timestamp with time zone = 2024-01-01T00:00:00Z\n"
        "SELECT :a, :b, :c, :d"
    )
    assert [(p.type.name, p.default) for p in export.params] == [
        ("integer", "7"),
        ("double precision", "1000.0"),
        ("boolean", "true"),
        ("timestamptz", "2024-01-01T00:00:00+00:00"),
    ]


def test_sensitive_flag_follows_the_type_before_any_default() -> None:
    export = parse(
        "-- param: token text sensitive\n"
        "-- param: pin double precision SENSITIVE = 1234\n"
        "-- param: label text = sensitive\n"  # a default that reads like the flag is a value
        "-- param: plain int\n"
        "SELECT :token, :pin, :label, :plain"
    )
    assert [(p.name, p.type.name, p.default, p.sensitive) for p in export.params] == [
        ("token", "text", None, True),
        ("pin", "double precision", "1234.0", True),
        ("label", "text", "sensitive", False),
        ("plain", "integer", None, False),
    ]
    listed = {p["name"]: p for p in export.describe()["parameters"]}
    assert listed["pin"]["default"] == "[redacted]" and listed["pin"]["sensitive"] is True
    assert listed["token"]["default"] is None and listed["token"]["required"] is True
    assert listed["label"]["default"] == "sensitive" and listed["label"]["sensitive"] is False


def test_rejects_bad_export_names() -> None:
    with pytest.raises(CatalogError, match="export name 'has space'"):
        parse("SELECT 1", name="has space")


def test_loads_the_shipped_catalog() -> None:
    catalog = load_catalog(ROOT / "sql" / "exports")
    assert {"orders", "customers", "type_zoo"} <= set(catalog)
    with pytest.raises(UnknownExport) as caught:
        catalog.get_export("nope")
    assert "orders" in caught.value.known


def test_rejects_empty_and_missing_directories(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"no \*\.sql export definitions"):
        load_catalog(tmp_path)
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "missing")


def test_rejects_names_differing_only_in_case(tmp_path: Path) -> None:
    (tmp_path / "Orders.sql").write_text("SELECT 1")
    (tmp_path / "orders.sql").write_text("SELECT 2")
    with pytest.raises(CatalogError, match="clashes with"):
        load_catalog(tmp_path)
