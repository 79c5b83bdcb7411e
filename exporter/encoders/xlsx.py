"""XLSX (Office Open XML spreadsheets), written as it streams, in constant memory.

A workbook is a ZIP of XML parts. The standard library's ``zipfile`` writes a member in
streaming fashion to an unseekable file (local headers with data descriptors, ZIP64 when a
member passes 4 GiB), so each batch's rows are deflated into the current sheet's part and
handed out at once: nothing is buffered beyond zlib's window. The parts whose content depends
on the whole export (the workbook's list of sheets) are written after the sheets, which the
format allows: readers find every part through the ZIP's central directory, written last.

Third-party writers cannot stream: XlsxWriter (even in ``constant_memory`` mode) and
openpyxl's write-only mode build the ZIP when the workbook is closed, so nothing could leave
before the end of the export.

Cells are typed from the column's PostgreSQL type:
- integers and numerics as numbers when Excel's 15 significant digits hold them exactly, else
  as text (a digit is never lost); NaN and infinities as text;
- dates and timestamps as Excel dates with a date or date-time number format; ``timestamptz``
  values are the wall-clock time of the session time zone they were printed in
  (``EXPORTER_TIMEZONE``, UTC by default), since a spreadsheet cell has no zone; values Excel
  cannot show (before 1900-03-01, after 9999, ±infinity, BC) as text;
- booleans as booleans; NULL as an empty cell; everything else as text.
The header row is bold and frozen. Past Excel's 1,048,576 rows a new sheet starts, with the
header again.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Sequence
from datetime import date
from typing import IO, Any
from xml.sax.saxutils import escape

from exporter.columns import Column, Row, ValueKind
from exporter.encoders._sink import DrainableSink
from exporter.encoders.csv import array_literal

#: Excel's rows per sheet, the header included.
SHEET_ROWS = 1_048_576
#: Significant digits an Excel number keeps exactly (IEEE doubles print 15 safely).
EXCEL_DIGITS = 15
#: Cell styles (indexes into styles.xml's cellXfs).
_BOLD, _DATE, _DATETIME = 1, 2, 3

#: Proleptic ordinals (``date.toordinal``) of Excel's day 0, 1899-12-30, and of 1900-03-01:
#: Excel wrongly counts a 1900-02-29, so its serial numbers are right from that day on.
_EXCEL_EPOCH = 693594
_FIRST_EXACT_DAY = 693655
_STAMP = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)"
    r"(?: (?P<H>\d\d):(?P<M>\d\d):(?P<S>\d\d)(?:\.(?P<f>\d{1,6}))?)?"
    r"(?P<tz>[+-]\d\d(?::?\d\d(?::?\d\d)?)?)?"
)
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
#: Characters XML 1.0 cannot carry, and OOXML's escape sequence, which a literal ``_xHHHH_``
#: must itself be escaped from.
#: A CR too: XML parsers turn a literal one into LF.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\r\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_NUMBER_KINDS = frozenset({
    ValueKind.INT16, ValueKind.INT32, ValueKind.INT64, ValueKind.FLOAT32, ValueKind.FLOAT64,
    ValueKind.NUMERIC,
})  # fmt: skip

Cell = Callable[[str, Any], str]


class XlsxEncoder:
    """Encodes text rows as the sheets of one workbook."""

    def __init__(self, columns: Sequence[Column], *, sheet_rows: int = SHEET_ROWS) -> None:
        self._columns = tuple(columns)
        self._letters = [_column_letters(index) for index in range(len(self._columns))]
        self._cells = [_cell_writer(column) for column in self._columns]
        self._sheet_rows = sheet_rows
        self._sink = DrainableSink()
        self._zip: zipfile.ZipFile | None = None
        self._sheet: IO[bytes] | None = None
        self._sheets = 0
        self._row = 0  # rows written to the current sheet, its header included

    def start(self) -> bytes:
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED)
        self._open_sheet()
        return self._sink.drain()

    def encode(self, rows: Sequence[Row]) -> bytes:
        for row in rows:
            if self._row == self._sheet_rows:
                self._close_sheet()
                self._open_sheet()
            self._row += 1
            number = str(self._row)
            cells = "".join(
                cell(letters + number, value)
                for cell, letters, value in zip(self._cells, self._letters, row, strict=True)
                if value is not None
            )
            self._write(f'<row r="{number}">{cells}</row>')
        return self._sink.drain()

    def finish(self) -> bytes:
        assert self._zip is not None, "start() first"
        self._close_sheet()
        for name, content in _workbook_parts(self._sheets).items():
            self._zip.writestr(name, content)
        self._zip.close()
        return self._sink.drain()

    def _open_sheet(self) -> None:
        assert self._zip is not None
        self._sheets += 1
        self._sheet = self._zip.open(
            f"xl/worksheets/sheet{self._sheets}.xml", "w", force_zip64=True
        )
        self._row = 1
        header = "".join(
            f'<c r="{letters}1" t="inlineStr" s="{_BOLD}">'
            f'<is><t xml:space="preserve">{_text(column.name)}</t></is></c>'
            for letters, column in zip(self._letters, self._columns, strict=True)
        )
        self._write(
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            "</sheetView></sheetViews>"
            f'<sheetData><row r="1">{header}</row>'
        )

    def _close_sheet(self) -> None:
        assert self._sheet is not None
        self._write("</sheetData></worksheet>")
        self._sheet.close()
        self._sheet = None

    def _write(self, xml: str) -> None:
        assert self._sheet is not None
        self._sheet.write(xml.encode())


def _cell_writer(column: Column) -> Cell:
    """How one column's values become cells (``ref`` is the cell's A1 reference)."""
    if column.is_array:
        return lambda ref, value: _string_cell(ref, array_literal(value))
    if column.kind in _NUMBER_KINDS:
        return _number_cell
    if column.kind is ValueKind.BOOL:
        return lambda ref, value: f'<c r="{ref}" t="b"><v>{1 if value == "t" else 0}</v></c>'
    if column.kind is ValueKind.DATE:
        return lambda ref, value: _date_cell(ref, value, _DATE)
    if column.kind in (ValueKind.TIMESTAMP, ValueKind.TIMESTAMPTZ):
        return lambda ref, value: _date_cell(ref, value, _DATETIME)
    return _string_cell


def _number_cell(ref: str, text: str) -> str:
    if _NUMBER.fullmatch(text) and _significant_digits(text) <= EXCEL_DIGITS:
        return f'<c r="{ref}"><v>{text}</v></c>'
    return _string_cell(ref, text)  # too many digits for a double, NaN or Infinity


def _significant_digits(text: str) -> int:
    """Digits a double must carry for ``text``: every digit from the first non-zero one (an
    integer's trailing zeros count too: 10**16 + 0 is not 10**16 + 1 in a double)."""
    mantissa = text.lstrip("-").split("e")[0].split("E")[0]
    return len(mantissa.replace(".", "").lstrip("0")) or 1


def _date_cell(ref: str, text: str, style: int) -> str:
    serial = excel_serial(text)
    if serial is None:
        return _string_cell(ref, text)
    return f'<c r="{ref}" s="{style}"><v>{serial}</v></c>'


def excel_serial(text: str) -> str | None:
    """Excel's serial number for PostgreSQL's date or timestamp text (the wall-clock time,
    its offset set aside); None when Excel cannot show it (see the module docstring)."""
    match = _STAMP.fullmatch(text)
    if match is None:
        return None  # infinity, BC, a year past 9999
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"])).toordinal()
    except ValueError:
        return None
    if day < _FIRST_EXACT_DAY:
        return None
    micros = (
        int(match["H"] or 0) * 3600 + int(match["M"] or 0) * 60 + int(match["S"] or 0)
    ) * 1_000_000 + int((match["f"] or "0").ljust(6, "0"))
    if not micros:
        return str(day - _EXCEL_EPOCH)
    return repr((day - _EXCEL_EPOCH) + micros / 86_400_000_000)


def _string_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_text(text)}</t></is></c>'


def _text(value: str) -> str:
    """``value`` as XML text: escaped, and what XML 1.0 cannot hold as OOXML's ``_xHHHH_``."""
    escaped = escape(value)
    if _UNSAFE.search(escaped) is None:
        return escaped
    return _UNSAFE.sub(lambda m: "_x005F_" if m[0] == "_" else f"_x{ord(m[0]):04X}_", escaped)


def _column_letters(index: int) -> str:
    """``A``, ..., ``Z``, ``AA``, ...: the column's letters for a zero-based index."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _workbook_parts(sheets: int) -> dict[str, str]:
    """The parts that list the sheets and describe the package: written after the sheets."""
    numbers = range(1, sheets + 1)
    declaration = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package_rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    return {
        "xl/workbook.xml": declaration
        + f'<workbook xmlns="{main}" xmlns:r="{relationships}"><sheets>'
        + "".join(f'<sheet name="Sheet{n}" sheetId="{n}" r:id="rId{n}"/>' for n in numbers)
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": declaration
        + f'<Relationships xmlns="{package_rels}">'
        + "".join(
            f'<Relationship Id="rId{n}" Type="{relationships}/worksheet"'
            f' Target="worksheets/sheet{n}.xml"/>'
            for n in numbers
        )
        + f'<Relationship Id="rId{sheets + 1}" Type="{relationships}/styles"'
        ' Target="styles.xml"/></Relationships>',
        "xl/styles.xml": declaration + _STYLES.format(main=main),
        "_rels/.rels": declaration
        + f'<Relationships xmlns="{package_rels}">'
        + f'<Relationship Id="rId1" Type="{relationships}/officeDocument"'
        ' Target="xl/workbook.xml"/></Relationships>',
        "[Content_Types].xml": declaration
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels"'
        ' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{sheet_type}"/>'
            for n in numbers
        )
        + "</Types>",
    }


#: Fonts: regular, bold. Cell formats (``cellXfs``): default, bold header, date, date-time.
_STYLES = (
    '<styleSheet xmlns="{main}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss.000"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def create_encoder(columns: Sequence[Column], **_options: Any) -> XlsxEncoder:
    """The XLSX encoder for ``columns``."""
    return XlsxEncoder(columns)
