"""The CSV encoder's options, written and read back: each delimiter quotes what it must (the
bytes themselves are held to PostgreSQL's COPY in ``tests/features/test_oracles.py``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.columns import Column
from exporter.encoders.csv import DELIMITERS, UTF8_BOM, CsvEncoder
from tests.encoders.test_round_trips import NAMES, TEXT, TEXT_TYPE
from tests.support.readers import read_csv


def _columns(names: list[str]) -> list[Column]:
    return [replace(TEXT_TYPE.column, name=name) for name in names]


@pytest.mark.parametrize("delimiter", DELIMITERS, ids=repr)
@settings(max_examples=80, deadline=None)
@given(
    names=st.lists(NAMES | st.sampled_from([";", "|", "\t", "a b"]), min_size=1, max_size=3,
                   unique=True),
    data=st.data(),
)  # fmt: skip
def test_every_delimiter_reads_back(delimiter: str, names: list[str], data: st.DataObject) -> None:
    values = TEXT | st.sampled_from([";", "|", "\t", "a;b|c\td"]) | st.none()
    rows = data.draw(st.lists(st.tuples(*(values for _ in names)), max_size=8))
    encoder = CsvEncoder(_columns(names), delimiter=delimiter)
    written = encoder.start() + encoder.encode(rows) + encoder.finish()
    header, got = read_csv(written, delimiter)
    assert header == names
    assert got == [list(row) for row in rows]


def test_bom_first_and_no_header() -> None:
    encoder = CsvEncoder(_columns(["a", "b"]), delimiter=";", header=False, bom=True)
    written = encoder.start() + encoder.encode([("x;y", None), ("", "1")]) + encoder.finish()
    assert written == UTF8_BOM + b'"x;y";\n"";1\n'
    assert CsvEncoder(_columns(["a"]), header=False).start() == b""


def test_an_unknown_delimiter_is_refused() -> None:
    with pytest.raises(ValueError, match="delimiter"):
        CsvEncoder(_columns(["a"]), delimiter=":")
