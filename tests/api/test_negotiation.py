from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exporter.api.negotiation import (
    choose_coding,
    choose_format,
    content_disposition,
    download_filename,
)
from exporter.encoders import FORMATS
from exporter.errors import UnacceptableEncoding, UnsupportedFormat

OFFERED = ("zstd", "br", "gzip")


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
        (None, "application/json", "json"),  # response.json() gets one document, an array
        (None, "application/json, application/x-ndjson;q=0.9", "json"),
        (None, "application/jsonl", "ndjson"),
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
    now = datetime(2026, 11, 25, 10, 15, 0, 123456, tzinfo=UTC)
    assert download_filename("orders", FORMATS["csv"], now) == "orders-20261125T101500.123456Z.csv"
    # Two downloads in the same second get two names (curl -OJ refuses to overwrite).
    later = now.replace(microsecond=123457)
    assert download_filename("orders", FORMATS["csv"], later) != download_filename(
        "orders", FORMATS["csv"], now
    )
    assert content_disposition("orders.csv") == 'attachment; filename="orders.csv"'
    assert content_disposition("ventes_été.csv") == (
        "attachment; filename=\"ventes__t_.csv\"; filename*=UTF-8''ventes_%C3%A9t%C3%A9.csv"
    )


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        (None, None),  # not asked: sent as is
        ("", None),  # an empty header: identity only
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("GZip, deflate", "gzip"),
        ("gzip, deflate, br, zstd", "zstd"),  # equally acceptable: our preference
        ("br, gzip", "br"),
        ("*", "zstd"),
        ("zstd;q=0, *", "br"),  # q=0 excludes
        ("zstd;q=0, br;q=0, *;q=0.5", "gzip"),
        ("gzip;q=0.5, br;q=0.9", "br"),  # a higher q beats our preference
        ("gzip;q=0.5, zstd;q=0.4", "gzip"),
        ("gzip;q=0.5, identity", None),  # identity is explicitly preferred
        ("gzip;q=0.5, identity;q=0.5", "gzip"),  # a tie goes to compression
        ("*;q=0.5, gzip;q=0.2", "zstd"),  # * stands for zstd too
        ("zstd;q=0.2, br;q=0, gzip;q=0, *;q=0.5", None),  # identity (through *) beats zstd
        ("compress, deflate", None),  # nothing we offer: identity
        ("identity", None),
        ("identity;q=0, gzip;q=0.1", "gzip"),
        ("gzip;q=bogus, zstd", "zstd"),  # an unreadable q: the item is left out
        ("gzip ; q = 1.0 ,, zstd;q=0.001", "gzip"),
    ],
)
def test_choose_coding(accept_encoding: str | None, expected: str | None) -> None:
    assert choose_coding(accept_encoding, OFFERED) == expected


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("gzip, zstd", None),  # not wanted: as is, when identity is acceptable
        ("identity;q=0, gzip", "gzip"),  # unless the client refuses identity
        ("*;q=0, br", "br"),
    ],
)
def test_choose_coding_when_compression_is_not_wanted(
    accept_encoding: str, expected: str | None
) -> None:
    assert choose_coding(accept_encoding, OFFERED, wanted=False) == expected


@pytest.mark.parametrize(
    ("accept_encoding", "offered"),
    [
        ("identity;q=0", OFFERED),
        ("*;q=0", OFFERED),
        ("identity;q=0, compress", OFFERED),
        ("identity;q=0, zstd;q=0, *", ()),  # compression turned off
        ("*;q=0, identity;q=0, gzip;q=0", OFFERED),
    ],
)
def test_refusing_identity_and_every_offer_is_unacceptable(
    accept_encoding: str, offered: tuple[str, ...]
) -> None:
    for wanted in (True, False):
        with pytest.raises(UnacceptableEncoding) as caught:
            choose_coding(accept_encoding, offered, wanted=wanted)
        assert caught.value.offered == offered


def test_identity_refused_through_star_but_listed_is_fine() -> None:
    assert choose_coding("*;q=0, identity", OFFERED) is None


@pytest.mark.parametrize(
    "accept_encoding", ["identity;q=nan", "identity;q=NaN, gzip;q=0", "*;q=-1", "identity;q=inf"]
)
def test_a_q_that_is_not_a_qvalue_refuses_nothing(accept_encoding: str) -> None:
    # Issue 19, low: float("nan") > 0 is false, so identity;q=nan refused identity (406).
    assert choose_coding(accept_encoding, OFFERED, wanted=False) is None


def test_refusals_echo_at_most_200_characters_of_a_header() -> None:
    huge = "application/x-nothing, " * 3000  # ~70 KB, as in the audit
    with pytest.raises(UnsupportedFormat) as format_refused:
        choose_format(None, huge)
    # The echo is cut to 200 characters (the list of what we support follows it in full).
    assert len(format_refused.value.asked) == 201 and format_refused.value.asked.endswith("…")
    assert str(format_refused.value).count("application/x-nothing") <= 200 // 21 + 1
    with pytest.raises(UnacceptableEncoding) as coding_refused:
        choose_coding("identity;q=0, " + "x;q=1, " * 10_000, OFFERED)
    assert len(str(coding_refused.value)) < 500
