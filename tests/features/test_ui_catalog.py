"""The catalog page, offline rendering (the page and /docs) and phone-width layout."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.features.conftest import Offline, screenshot
from tests.support.servers import LiveServer


def api_exports(server: LiveServer) -> list[dict[str, object]]:
    listing = httpx.get(server.base_url + "/exports", timeout=30).json()
    exports: list[dict[str, object]] = listing["exports"]
    return exports


def words_of(export: dict[str, object]) -> str:
    """What a search should find an export by, from the API's own listing."""
    parts = [str(export["name"]), str(export["description"])]
    parts += [str(p["name"]) for p in export["parameters"]]  # type: ignore[attr-defined]
    parts += [str(c["name"]) for c in export["columns"]]  # type: ignore[attr-defined]
    return " ".join(parts).lower()


def visible_names(page: Page) -> list[str]:
    names: list[str] = page.locator("#exports > li:visible").evaluate_all(
        "items => items.map(item => item.dataset.name)"
    )
    return names


def test_the_catalog_lists_every_export_and_the_search_filters_it(
    page: Page, live_server: LiveServer
) -> None:
    exports = api_exports(live_server)
    page.goto("/")
    expect(page.get_by_role("heading", name="Exports", exact=True)).to_be_visible()
    assert sorted(visible_names(page)) == sorted(str(e["name"]) for e in exports)
    orders = page.locator('#exports > li[data-name="orders"]')
    expect(orders.get_by_role("link", name="orders")).to_have_attribute(
        "href", "/ui/exports/orders"
    )
    orders.locator("summary").click()
    expect(orders.locator("table").first).to_contain_text("since")
    expect(orders.locator("table").last).to_contain_text("numeric(12,2)")
    screenshot(page, "catalog")

    for query in ("zoo", "ORDERS status", "customer_country", "no-such-thing-at-all"):
        page.get_by_label("Search exports").fill(query)
        expected = sorted(
            str(e["name"]) for e in exports
            if all(word in words_of(e) for word in query.lower().split())
        )  # fmt: skip
        assert sorted(visible_names(page)) == expected, query
        expect(page.locator("[data-count]")).to_have_text(str(len(expected)))
        expect(page.locator("#no-match")).to_be_visible(visible=not expected)
        assert "q=" in page.url  # the filtered list can be shared

    # The same filter without JavaScript: the server answers ?q= itself.
    filtered = httpx.get(live_server.base_url + "/?q=zoo", timeout=30).text
    for export in exports:
        tag = re.search(rf'<li class="export" data-name="{export["name"]}"[^>]*>', filtered)
        assert tag is not None
        assert tag.group(0).endswith(" hidden>") == ("zoo" not in words_of(export))


@pytest.mark.parametrize("path", ["/", "/ui/exports/orders", "/ui/jobs"])
def test_pages_render_fully_with_the_internet_blocked(
    offline_page: tuple[Page, Offline], path: str
) -> None:
    page, offline = offline_page
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    # The stylesheet applied (a page without its CSS would have the default serif font).
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font
    assert page.evaluate("document.styleSheets.length") >= 1
    assert offline.blocked == []
    assert failed == []


@pytest.mark.parametrize("path", ["/", "/ui/exports/orders?preview=1"])
def test_pages_fit_a_phone_and_label_every_control(page: Page, path: str) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(path)
    # Nothing wider than the screen (the preview table scrolls inside its own box).
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    unlabelled = page.locator("input:not([type=hidden]), select").evaluate_all(
        "controls => controls.filter(c => c.labels.length === 0).map(c => c.outerHTML)"
    )
    assert unlabelled == []
    # Keyboard: Tab reaches the first control after the skip link and the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
