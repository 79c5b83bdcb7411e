"""Shaping: header directives, reserved names, parsing and the wrapped SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.catalog.definitions import ExportDefinition, parse_export
from exporter.catalog.shaping import parse_shape, quote_identifier, render_shape, shaped_export
from exporter.columns import Column, ValueKind
from exporter.errors import CatalogError, InvalidParameter

COLUMNS = (
    Column(name="id", sql_type="bigint", pg_type="int8", kind=ValueKind.INT64),
    Column(name='we"ird', sql_type="text", pg_type="text", kind=ValueKind.TEXT),
    Column(name="ok", sql_type="boolean", pg_type="bool", kind=ValueKind.BOOL),
    Column(name="tags", sql_type="text[]", pg_type="text", kind=ValueKind.TEXT, is_array=True),
)


def export(header: str = "", body: str = "SELECT 1 AS id WHERE :n > 0") -> ExportDefinition:
    text = f"-- Sample.\n-- param: n int = 1\n{header}{body}\n"
    return parse_export("sample", text, Path("sample.sql")).with_columns(COLUMNS)


@pytest.mark.parametrize("name", ["select", "order", "limit", "after", "where.x"])
def test_reserved_parameter_names_are_refused_with_file_and_line(name: str) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_export("bad", f"-- Bad.\n\n-- param: {name} int\nSELECT :x", Path("bad.sql"))
    assert raised.value.line == 3
    assert "reserved" in str(raised.value) and "bad.sql" in str(raised.value)


@pytest.mark.parametrize(
    ("header", "line", "says"),
    [
        ("-- shaping: maybe\n", 3, "expected on or off"),
        ("-- filterable:\n", 3, "expected column names"),
        ("-- watermark:\n", 3, "expected a result column"),
        ("-- shaping: off\n-- watermark: id\n", 3, "shaping: off leaves nothing"),
        ("-- filterable: id\n-- filterable: ok\n", 4, "declared twice"),
        ("-- filterable: id, nope\n", 3, "'nope' is not a result column"),
        ("-- watermark: nope\n", 3, "'nope' is not a result column"),
        ("-- watermark: ok\n", 3, "column 'ok' is boolean"),
        ("-- watermarks: id\n", 3, "did you mean 'watermark'"),
    ],
)
def test_bad_directives_are_refused_with_their_line(header: str, line: int, says: str) -> None:
    with pytest.raises(CatalogError) as raised:
        export(header)
    assert raised.value.line == line
    assert says in str(raised.value)


def test_directives_are_read() -> None:
    sample = export("-- filterable: ok\n-- watermark: id\n")
    assert sample.shaping and sample.filterable == ("ok",) and sample.watermark == "id"
    assert [c.name for c in sample.filterable_columns] == ["ok"]
    assert sample.describe()["filterable"] == ["ok"]
    assert not export("-- shaping: off\n").filterable_columns
    # Arrays are never filterable; every other described type with a parser is.
    assert [c.name for c in export().filterable_columns] == ["id", 'we"ird', "ok"]


def test_identifiers_are_quoted_and_values_bound() -> None:
    sample = export()
    shape = parse_shape(
        sample,
        [
            ("select", 'we"ird,id'),
            ('where.we"ird', "not.like.%'; DROP TABLE x; --"),
            ("where.id", 'in.(1,"2")'),
            ("where.ok", "is.true"),
            ("order", 'we"ird.desc.nullslast,id'),
            ("limit", "5"),
        ],
        limit_max=10,
    )
    query = render_shape(sample, shape, 2)
    assert query.sql == (
        'SELECT e."we""ird", e."id" FROM (\n'
        + sample.sql
        + ') AS e WHERE NOT (e."we""ird" LIKE $2::text) AND (e."id" IN ($3::int8, $4::int8))'
        ' AND (e."ok" IS TRUE) ORDER BY e."we""ird" DESC NULLS LAST, e."id" ASC LIMIT $5::int8\n'
    )
    assert query.values == ("%'; DROP TABLE x; --", "1", "2", "5")
    assert "current_setting('exporter.p2')::text" in query.copy_sql
    assert "$" not in query.copy_sql
    assert [c.name for c in query.columns] == ['we"ird', "id"]
    wrapped, values = shaped_export(sample, shape, ["1"])
    assert values == ("1", *query.values) and wrapped.columns == query.columns
    assert quote_identifier('a"b') == '"a""b"'


def test_no_shaping_leaves_the_query_alone() -> None:
    sample = export()
    assert shaped_export(sample, parse_shape(sample, [], limit_max=1), ["1"]) == (sample, ("1",))


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ('in.(a,"b,c","d\\"e","f\\\\g",)', ["a", "b,c", 'd"e', "f\\g", ""]),
        ("in.(,)", ["", ""]),
        ('in.("")', [""]),
        ("eq.", [""]),
        ("eq.a.b.c", ["a.b.c"]),
    ],
)
def test_values_parse(value: str, items: list[str]) -> None:
    shape = parse_shape(export(), [('where.we"ird', value)], limit_max=1)
    assert list(shape.conditions[0].values) == items


@pytest.mark.parametrize(
    "value", ['in.("a"b)', "in.a,b", "in.(" + ",".join(["1"] * 1001) + ")", "is.maybe"]
)
def test_malformed_lists_are_refused(value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_shape(export(), [('where.we"ird', value)], limit_max=1)
