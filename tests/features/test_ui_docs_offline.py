"""/docs and /redoc render with the internet out of reach: their files come from the service."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.features.conftest import Offline


def test_swagger_ui_and_redoc_work_offline(offline_page: tuple[Page, Offline]) -> None:
    page, offline = offline_page
    page.goto("/docs")
    # Swagger UI drew the operations from /openapi.json: its script and CSS came from us.
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 5
    expect(page.locator('.opblock-summary-path[data-path="/exports/orders"]')).to_be_visible()
    page.goto("/redoc")
    # ReDoc drew the document: an operation's heading, from its own script.
    expect(page.locator("h2", has_text="List the exports this API key may use")).to_be_visible()
    assert offline.blocked == []
