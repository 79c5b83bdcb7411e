"""Reading every output format back with its standard reader, independent of the encoders."""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq


def read_arrow(data: bytes) -> pa.Table:
    """A complete Arrow IPC stream as a table."""
    return pa.ipc.open_stream(data).read_all()


def read_parquet(data: bytes) -> pa.Table:
    """A complete Parquet file as a table."""
    return pq.read_table(io.BytesIO(data))


def read_csv(data: bytes, delimiter: str = ",") -> tuple[list[str], list[list[str | None]]]:
    """The header and rows of COPY CSV, NULL (an unquoted empty field) as None.

    The csv module reads the values, but cannot tell ``""`` (the empty string) from an empty
    field (NULL); Arrow's CSV reader can (``quoted_strings_can_be_null=False``), so it says
    which fields are NULL, and the two must agree.
    """
    text = io.StringIO(data.decode(), newline="")
    header, *rows = csv.reader(text, delimiter=delimiter, strict=True)
    # A blank line is one NULL field in a one-column file; the csv module reads it as [].
    rows = [row or [""] for row in rows]
    nulls = pa_csv.read_csv(
        io.BytesIO(data),
        parse_options=pa_csv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    assert nulls.num_rows == len(rows), "the csv module and Arrow disagree on the rows"
    null_columns = [column.is_null().to_pylist() for column in nulls.columns]
    decoded: list[list[str | None]] = []
    for index, row in enumerate(rows):
        null_row = [column[index] for column in null_columns]
        assert all(field == "" for field, null in zip(row, null_row, strict=True) if null)
        decoded.append([None if null else field for field, null in zip(row, null_row, strict=True)])
    return header, decoded


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_ndjson(data: bytes) -> list[dict[str, Any]]:
    """One object per line, every line ended by LF.

    orjson must accept each line (strict RFC 8259), but it reads every fraction as a float,
    which would hide digits lost on the way; the values are read with the json module, numbers
    exactly (``Decimal``).
    """
    assert data == b"" or data.endswith(b"\n"), "the last record has no newline"
    lines = data.split(b"\n")[:-1]
    for line in lines:
        orjson.loads(line)
    return [json.loads(line, parse_float=Decimal, parse_constant=_no_constants) for line in lines]


def read_json(data: bytes) -> list[dict[str, Any]]:
    """One JSON array of objects, read like ``read_ndjson`` (orjson must accept the document;
    the values come from the json module, numbers exactly)."""
    orjson.loads(data)
    document = json.loads(data, parse_float=Decimal, parse_constant=_no_constants)
    assert isinstance(document, list), "a JSON array"
    assert all(isinstance(item, dict) for item in document), "an array of objects"
    return document


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def read_xlsx(data: bytes) -> tuple[list[str], list[list[Any]]]:
    """Every sheet of a workbook, header rows dropped after the first: (column names, rows).

    Two readers: python-calamine gives the values (it undoes OOXML's ``_xHHHH_`` escapes, as
    Excel does; openpyxl does not), openpyxl tells an empty cell (NULL) from an empty string.
    """
    import io

    import openpyxl
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    present = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    names: list[str] = []
    rows: list[list[Any]] = []
    for index, sheet_name in enumerate(workbook.sheet_names):
        values = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
        header, *body = values
        names = [str(name) for name in header]
        # openpyxl's rows are the truth for which cells exist; calamine drops trailing
        # empty rows and cells.
        for number, cell_row in enumerate(
            list(present[sheet_name].iter_rows(values_only=True))[1:]
        ):
            value_row = body[number] if number < len(body) else []
            rows.append(
                [
                    None if cell is None else (value_row[column] if column < len(value_row) else "")
                    for column, cell in enumerate(
                        list(cell_row) + [None] * (len(names) - len(cell_row))
                    )
                ]
            )
    present.close()
    return names, rows
