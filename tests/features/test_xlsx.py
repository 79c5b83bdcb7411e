"""XLSX from the real database: every value equals the NDJSON of the same export, read with
two spreadsheet readers; served over HTTP with its media type and filename."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from exporter.columns import Column, ValueKind
from exporter.export.service import ExportService
from tests.support.readers import read_ndjson, read_xlsx
from tests.support.servers import LiveServer
from tests.support.streams import export_bytes

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def as_cell(column: Column, value: Any) -> Any:
    """The NDJSON value as a spreadsheet cell holds it (see exporter/encoders/xlsx.py)."""
    if value is None:
        return None
    kind = column.kind
    if column.is_array or kind in (ValueKind.JSON,):
        return value  # compared parsed: the cell's text is PostgreSQL's, the NDJSON's JSON
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal) and kind is not ValueKind.TEXT:
        digits = str(abs(value)).replace(".", "").lstrip("0")
        return float(value) if len(digits) <= 15 else str(value)
    if kind in (ValueKind.TIMESTAMP, ValueKind.TIMESTAMPTZ) and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment.replace(tzinfo=None) if moment.year >= 1901 else value
    if kind is ValueKind.DATE and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


@pytest.mark.parametrize("export", ["orders", "customers", "orders_by_day"])
async def test_every_cell_equals_the_ndjson_value(service: ExportService, export: str) -> None:
    columns = service.catalog.get_export(export).columns
    names, cells = read_xlsx(await export_bytes(service, export, "xlsx"))
    objects = read_ndjson(await export_bytes(service, export, "ndjson"))
    assert names == [c.name for c in columns]
    assert len(cells) == len(objects) > 0
    for row, obj in zip(cells, objects, strict=True):
        for column, cell, value in zip(columns, row, obj.values(), strict=True):
            want = as_cell(column, value)
            if column.is_array or column.kind is ValueKind.JSON:
                assert json.loads(cell) == value, column.name
            else:
                assert cell == want, (column.name, value, cell)


def test_served_over_http_with_its_media_type_and_a_workbook_filename(
    live_server: LiveServer,
) -> None:
    response = httpx.get(
        live_server.base_url + "/exports/customers", params={"format": "xlsx"}, timeout=60
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert response.headers["content-disposition"].endswith('.xlsx"')
    by_accept = httpx.get(
        live_server.base_url + "/exports/customers", headers={"Accept": XLSX_MEDIA_TYPE}
    )
    assert by_accept.content[:2] == b"PK" and by_accept.headers["content-type"] == XLSX_MEDIA_TYPE
    names, rows = read_xlsx(response.content)
    assert names[0] == "id" and len(rows) > 0
