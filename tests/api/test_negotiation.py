from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exporter.api.negotiation import choose_format, content_disposition, download_filename
from exporter.encoders import FORMATS
from exporter.errors import UnsupportedFormat


@pytest.mark.parametrize(
    ("format_param", "accept", "expected"),
    [
        (None, None, "ndjson"),
        (None, "*/*", "ndjson"),
        (None, "text/csv", "csv"),
        (None, "text/*", "csv"),
        (None, "*/*;q=0.1, text/csv", "csv"),
        (None, "*/*, text/csv", "csv"),  # an exact type beats a wildcard of the same quality
        (None, "text/csv;q=0.2, application/vnd.apache.parquet;q=0.8", "parquet"),
        (None, "Application/VND.Apache.Arrow.Stream", "arrow"),
        (None, "application/x-parquet", "parquet"),
        (None, "text/csv;q=0, application/x-ndjson", "ndjson"),
        ("arrow", "text/csv", "arrow"),  # format= wins
    ],
)
def test_choose_format(format_param: str | None, accept: str | None, expected: str) -> None:
    assert choose_format(format_param, accept).name == expected


@pytest.mark.parametrize("accept", ["image/png", "text/csv;q=0", "text/html, application/xml"])
def test_unservable_accept_is_refused_listing_what_is_supported(accept: str) -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        choose_format(None, accept)
    assert "text/csv" in caught.value.supported


def test_filenames() -> None:
    now = datetime(2026, 11, 25, 10, 15, tzinfo=UTC)
    assert download_filename("orders", FORMATS["csv"], now) == "orders-20261125T101500Z.csv"
    assert content_disposition("orders.csv") == 'attachment; filename="orders.csv"'
    assert content_disposition("ventes_été.csv") == (
        "attachment; filename=\"ventes__t_.csv\"; filename*=UTF-8''ventes_%C3%A9t%C3%A9.csv"
    )
