"""XLSX: typed cells, a bold frozen header, a new sheet past the row limit, bytes as it goes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime

import openpyxl

from exporter.columns import Column, ValueKind
from exporter.encoders.xlsx import XlsxEncoder
from tests.support.readers import read_xlsx

COLUMNS = [
    Column(name="id", sql_type="bigint", pg_type="int8", kind=ValueKind.INT64),
    Column(name="amount", sql_type="numeric", pg_type="numeric", kind=ValueKind.NUMERIC),
    Column(name="at", sql_type="timestamptz", pg_type="timestamptz", kind=ValueKind.TIMESTAMPTZ),
    Column(name="day", sql_type="date", pg_type="date", kind=ValueKind.DATE),
    Column(name="ok", sql_type="boolean", pg_type="bool", kind=ValueKind.BOOL),
    Column(name="note", sql_type="text", pg_type="text", kind=ValueKind.TEXT),
]


def encode(rows: Sequence[Sequence[str | None]], **options: int) -> bytes:
    encoder = XlsxEncoder(COLUMNS, **options)
    return encoder.start() + encoder.encode(rows) + encoder.finish()


def test_cells_are_typed_and_digits_beyond_excel_stay_text() -> None:
    rows = [
        ("1", "12.50", "2024-02-29 12:30:00.25+00", "2024-02-29", "t", "Köln <&>"),
        ("999999999999999", "0.000000000000001", None, None, "f", ""),
        ("1234567890123456", "1234567890.1234567", "infinity", "0044-03-15 BC", None, None),
        ("-5", "NaN", "1899-12-31 00:00:00+00", "1900-02-28", None, "\r\x01_x0041_"),
    ]
    names, got = read_xlsx(encode(rows))
    assert names == [c.name for c in COLUMNS]
    assert got == [
        [1.0, 12.5, datetime(2024, 2, 29, 12, 30, 0, 250000), date(2024, 2, 29), True, "Köln <&>"],
        [999999999999999.0, 1e-15, None, None, False, ""],  # NULL apart from the empty string
        ["1234567890123456", "1234567890.1234567", "infinity", "0044-03-15 BC", None, None],
        [-5.0, "NaN", "1899-12-31 00:00:00+00", "1900-02-28", None, "\r\x01_x0041_"],
    ]


def test_the_header_is_bold_and_frozen() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(encode([("1", "2", None, None, None, None)])))
    sheet = workbook.active
    assert sheet is not None
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert sheet["D1"].value == "day" and sheet["A2"].value == 1


def test_past_the_sheet_row_limit_a_new_sheet_starts_with_the_header() -> None:
    rows = [(str(n), None, None, None, None, None) for n in range(7)]
    data = encode(rows, sheet_rows=3)  # the header and two rows per sheet
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert workbook.sheetnames == ["Sheet1", "Sheet2", "Sheet3", "Sheet4"]
    assert [row[0] for row in workbook["Sheet4"].iter_rows(values_only=True)] == ["id", 6]
    _, got = read_xlsx(data)
    assert [row[0] for row in got] == [float(n) for n in range(7)]


def test_bytes_leave_while_rows_are_encoded_not_only_at_the_end() -> None:
    encoder = XlsxEncoder(COLUMNS)
    encoder.start()
    batch = [(str(n), "1.5", None, None, "t", f"row {n} " * 8) for n in range(20_000)]
    during = sum(len(encoder.encode(batch)) for _ in range(5))
    end = len(encoder.finish())
    assert during > 0 and end < during  # the footer and the small parts only
