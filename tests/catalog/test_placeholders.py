from __future__ import annotations

import pytest

from exporter.catalog.placeholders import SqlSyntaxError, find_placeholders


def names(sql: str) -> list[str]:
    return [p.name for p in find_placeholders(sql)]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT :a, :b_2 FROM t WHERE x = :a", ["a", "b_2", "a"]),
        ("SELECT x::date, :since::timestamptz", ["since"]),
        ("SELECT ':not_me', 'it''s :nope', :yes", ["yes"]),
        ("SELECT E'\\' :still_string', :yes", ["yes"]),
        ("SELECT e'a\\'b', :yes", ["yes"]),
        ("SELECT 'no E prefix\\', :yes", ["yes"]),
        ('SELECT ":quoted" FROM "t"":x"', []),
        ("SELECT 1 -- :comment\n, :yes", ["yes"]),
        ("SELECT /* :a /* nested :b */ still :c */ :yes", ["yes"]),
        ("SELECT $$ :dollar $$, $tag$ :x $$ :y $tag$, :yes", ["yes"]),
        ("SELECT $fn$a$fn$ || :yes", ["yes"]),
        ("SELECT arr[1:2], :yes", ["yes"]),
        ("SELECT f(a := 1), :yes", ["yes"]),
        ("SELECT x$1, :yes FROM t", ["yes"]),
        ("SELECT U&'d\\0061t\\+000061 :nope', :yes", ["yes"]),
        ("SELECT :ünicode_is_not_a_placeholder_name, :ok", ["ok"]),
    ],
)
def test_finds_only_real_placeholders(sql: str, expected: list[str]) -> None:
    assert names(sql) == expected


def test_reports_offsets() -> None:
    [placeholder] = find_placeholders("SELECT\n  :since")
    assert (placeholder.start, placeholder.end) == (9, 15)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT 'open", "unterminated string literal"),
        ('SELECT "open', "unterminated quoted identifier"),
        ("SELECT /* open", "unterminated /* comment */"),
        ("SELECT $q$ open", "unterminated dollar-quoted string $q$"),
        ("SELECT $1", "positional parameters ($1) are not allowed; use :name"),
    ],
)
def test_rejects_unterminated_and_positional(sql: str, reason: str) -> None:
    with pytest.raises(SqlSyntaxError) as caught:
        find_placeholders(sql)
    assert caught.value.reason == reason
