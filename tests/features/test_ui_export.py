"""One export's page: typed form, errors next to fields, the URL, preview and download."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from exporter.encoders import FORMATS
from tests.features.conftest import screenshot
from tests.support.servers import LiveServer


def test_the_form_is_typed_from_the_catalog(page: Page) -> None:
    page.goto("/ui/exports/echo")
    expect(page.locator("#p-d")).to_have_attribute("type", "date")
    expect(page.locator("#p-d")).to_have_value("2000-01-01")
    expect(page.locator("#p-i")).to_have_attribute("type", "number")
    expect(page.locator("#p-i")).to_have_attribute("min", str(-(2**31)))
    expect(page.locator("#p-i")).to_have_attribute("max", str(2**31 - 1))
    expect(page.locator("#p-b")).to_have_attribute("max", str(2**63 - 1))
    expect(page.locator("#p-ok")).to_have_attribute("type", "checkbox")
    expect(page.locator("#p-ok")).not_to_be_checked()
    expect(page.locator("#p-t")).to_have_attribute("type", "text")
    expect(page.locator("#p-t")).to_have_value("plain")
    options = page.locator("#format option").all_inner_texts()
    assert options == list(FORMATS)
    page.goto("/ui/exports/sensitive_echo")
    expect(page.locator("#p-token")).to_have_attribute("type", "password")
    expect(page.locator("#p-token")).to_have_attribute("required", "")
    expect(page.get_by_text("required", exact=True)).to_have_count(1)  # only token
    expect(page.locator("#p-pin")).to_have_value("")  # a secret default is never shown


@pytest.mark.parametrize(
    ("field", "value", "button"),
    [("i", "99999999999", "Preview"), ("u", "not-a-uuid", "Download"), ("t", "a\x00b", "Preview")],
)
def test_a_bad_value_shows_the_services_reason_next_to_its_field(
    page: Page, live_server: LiveServer, field: str, value: str, button: str
) -> None:
    problem = httpx.get(
        f"{live_server.base_url}/exports/echo", params={field: value}, timeout=30
    ).json()
    assert problem["parameter"] == field
    page.goto("/ui/exports/echo")
    page.locator(f"#p-{field}").fill(value)
    downloads: list[object] = []
    page.on("download", lambda d: downloads.append(d))
    if button == "Download":
        page.get_by_role("link", name="Download").click()
    else:
        page.get_by_role("button", name="Preview").click()
    error = page.locator(f"#p-{field}-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(problem["reason"])
    expect(page.locator(f"#p-{field}")).to_have_attribute("aria-invalid", "true")
    assert urlsplit(page.url).path == "/ui/exports/echo"  # still the page, no JSON document
    assert page.locator(".field .error:visible").count() == 1
    assert downloads == []


def test_without_javascript_the_page_itself_shows_the_error(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context(base_url=live_server.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/ui/exports/orders?since=2024-02-30&status=paid&format=csv")
        expect(page.locator("#p-since-error")).to_contain_text("not a valid date")
        expect(page.locator("#p-status")).to_have_value("paid")
        page.locator("#p-since").fill("2024-02-01")
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("table.preview tbody tr")).to_have_count(100)
        href = page.get_by_role("link", name="Download").get_attribute("href")
        assert href is not None
        assert parse_qs(urlsplit(href).query) == {
            "since": ["2024-02-01"], "until": ["2100-01-01"], "status": ["paid"], "format": ["csv"]
        }  # fmt: skip
    finally:
        context.close()


def test_the_page_url_follows_the_form_and_keeps_secrets_out(page: Page) -> None:
    page.goto("/ui/exports/orders")
    page.locator("#p-status").fill("shipped")
    page.locator("#format").select_option("parquet")
    query = parse_qs(urlsplit(page.evaluate("location.href")).query)
    assert query["status"] == ["shipped"]
    assert query["format"] == ["parquet"]
    page.reload()
    expect(page.locator("#p-status")).to_have_value("shipped")
    expect(page.locator("#format")).to_have_value("parquet")
    page.goto("/ui/exports/sensitive_echo")
    page.locator("#p-token").fill("s3cret-value")
    page.locator("#p-label").fill("shown")
    url = page.evaluate("location.href")
    assert "label=shown" in url
    assert "s3cret" not in url
    href = page.get_by_role("link", name="Download").get_attribute("href")
    assert href is not None and "token=s3cret-value" in href  # the API takes it in the query


def ndjson_rows(server: LiveServer, export: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """The API's first 100 NDJSON rows, numbers as exact Decimals."""
    rows: list[dict[str, Any]] = []
    with httpx.stream(
        "GET", f"{server.base_url}/exports/{export}", params=params, timeout=60
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            rows.append(json.loads(line, parse_float=Decimal))
            if len(rows) == 100:
                break
    return rows


@pytest.mark.parametrize(
    ("export", "params"),
    [("orders", {"status": "paid", "since": "2024-03-01"}), ("type_zoo", {}), ("zoo_text", {})],
)
def test_the_preview_equals_the_first_100_ndjson_rows(
    page: Page, live_server: LiveServer, export: str, params: dict[str, str]
) -> None:
    expected = ndjson_rows(live_server, export, params)
    listing = httpx.get(f"{live_server.base_url}/exports", timeout=30).json()["exports"]
    columns = next(e["columns"] for e in listing if e["name"] == export)
    page.goto(f"/ui/exports/{export}")
    for name, value in params.items():
        page.locator(f"#p-{name}").fill(value)
    page.get_by_role("button", name="Preview").click()
    table = page.locator("table.preview")
    expect(table).to_be_visible()
    headers = table.locator("thead th").evaluate_all(
        "ths => ths.map(th => [th.querySelector('.col').textContent,"
        " th.querySelector('.type').textContent])"
    )
    assert headers == [[c["name"], c["type"]] for c in columns]
    cells = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(row => Array.from(row.cells).map(td => "
        "({json: td.dataset.json, text: td.textContent, cls: td.className, "
        "title: td.getAttribute('title')})))"
    )
    assert len(cells) == len(expected) > 0
    names = [c["name"] for c in columns]
    for row, want in zip(cells, expected, strict=True):
        for cell, name in zip(row, names, strict=True):
            value = want[name]
            assert json.loads(cell["json"], parse_float=Decimal) == value, (name, cell)
            if value is None:
                assert cell["cls"] == "null" and cell["text"] == "NULL"
            elif value == "":
                assert cell["cls"] == "empty" and cell["text"] == ""
            elif isinstance(value, str):
                full = cell["title"] if cell["title"] is not None else cell["text"]
                assert full == value
                assert cell["title"] is None or cell["text"].endswith("…")
    if export == "orders":
        screenshot(page, "export-preview")


@pytest.mark.parametrize("output", ["csv", "ndjson", "parquet"])
def test_the_download_link_gives_the_apis_bytes(
    page: Page, live_server: LiveServer, output: str
) -> None:
    page.goto("/ui/exports/orders")
    page.locator("#p-status").fill("refunded")
    page.locator("#format").select_option(output)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert re.fullmatch(rf"orders-\d{{8}}T\d{{6}}\.\d{{6}}Z\.{output}", download.suggested_filename)
    path = download.path()
    api = httpx.get(
        f"{live_server.base_url}/exports/orders",
        params={"status": "refunded", "format": output},
        timeout=60,
    )
    assert path.read_bytes() == api.content
    assert len(api.content) > 1000
