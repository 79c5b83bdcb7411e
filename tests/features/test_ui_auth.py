"""The pages with API keys on: login, the session cookie, CSRF, logout; the API unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, expect

from exporter.access.keys import keys_file_entry, new_token
from tests.features.conftest import open_context
from tests.support.servers import LiveServer


@pytest.fixture
def keyed(
    server_factory: Callable[..., LiveServer], tmp_path: Path
) -> tuple[LiveServer, dict[str, str]]:
    tokens = {"analyst": new_token("analyst"), "other": new_token("other")}
    keys = tmp_path / "keys.toml"
    keys.write_text(
        keys_file_entry("analyst", tokens["analyst"], ["orders", "cust*"])
        + "burst = 1000\n\n"
        + keys_file_entry("other", tokens["other"])
    )
    return server_factory(EXPORTER_AUTH="on", EXPORTER_KEYS_FILE=str(keys)), tokens


def test_login_session_csrf_and_logout(
    browser: Browser, keyed: tuple[LiveServer, dict[str, str]]
) -> None:
    server, tokens = keyed
    token = tokens["analyst"]
    secret = token.rsplit("_", 1)[1]
    # The API is as before: 401 without a key, the pages answer a key header like any route.
    assert httpx.get(server.base_url + "/", timeout=30).status_code == 401
    with_key = httpx.get(server.base_url + "/", headers={"X-API-Key": token}, timeout=30)
    assert with_key.status_code == 200 and "orders" in with_key.text

    context, offline = open_context(browser, server.base_url)
    page = context.new_page()
    try:
        page.goto("/ui/exports/orders?status=paid")
        assert urlsplit(page.url).path == "/ui/login"  # no access before login
        expect(page.locator("h1")).to_have_text("Log in")
        assert context.request.get("/exports").status == 401
        # What the login page and /docs need is open.
        assert context.request.get("/ui/static/ui.css").status == 200
        assert context.request.get("/docs/static/swagger-ui-bundle.js").status == 200

        page.get_by_label("API key").fill(tokens["analyst"] + "x")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("not accepted")

        page.get_by_label("API key").fill(token)
        page.get_by_role("button", name="Log in").click()
        # Back where the analyst was going, form values included.
        expect(page.locator("h1")).to_have_text("orders")
        expect(page.locator("#p-status")).to_have_value("paid")

        (cookie,) = context.cookies()
        assert cookie["name"] == "exporter_session"
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert not cookie["secure"]  # plain HTTP here; Secure when served over TLS
        for place in (cookie["value"], page.url, page.content()):
            assert secret not in place and token not in place
        assert page.evaluate("document.cookie") == ""
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0

        # Only the exports this key may use.
        page.goto("/")
        names = page.locator("#exports > li").evaluate_all("li => li.map(l => l.dataset.name)")
        assert sorted(names) == ["customers", "orders"]

        # A download is a plain link, and the cookie carries the key.
        page.goto("/ui/exports/orders?status=refunded&format=csv")
        with page.expect_download() as info:
            page.get_by_role("link", name="Download").click()
        api = httpx.get(
            server.base_url + "/exports/orders", params={"status": "refunded", "format": "csv"},
            headers={"Authorization": f"Bearer {token}"}, timeout=60,
        )  # fmt: skip
        assert info.value.path().read_bytes() == api.content

        # State changes on a session need the CSRF token.
        post = """async (withToken) => {
            const headers = {"Content-Type": "application/json"};
            if (withToken) headers["X-CSRF-Token"] =
                document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch("/jobs", {method: "POST", headers,
                body: JSON.stringify({export: "customers"})});
            return [r.status, await r.text()];
        }"""
        status, body = page.evaluate(post, False)
        assert status == 403 and "csrf" in body.lower()
        status, _ = page.evaluate(post, True)
        assert status == 202

        # A tampered cookie is no session.
        forged = dict(cookie, value=cookie["value"].replace("analyst", "other", 1))
        other = browser.new_context(base_url=server.base_url)
        other.add_cookies([forged])  # type: ignore[list-item]
        assert other.request.get("/exports").status == 401
        other.close()

        # Logout ends the session, here and for a copy of the cookie.
        page.goto("/")
        page.get_by_role("button", name="Log out").click()
        expect(page.locator("h1")).to_have_text("Log in")
        assert context.cookies() == []
        page.goto("/ui/jobs")
        assert urlsplit(page.url).path == "/ui/login"
        copied = httpx.get(
            server.base_url + "/exports",
            headers={"Cookie": f"exporter_session={cookie['value']}"}, timeout=30,
        )  # fmt: skip
        assert copied.status_code == 401
        assert offline.blocked == []
    finally:
        context.close()
    assert secret not in server.log()
