"""Fixtures of the end-to-end suites: a server with authentication on and the tokens of its
keys, and a real browser for the pages (Debian's Chromium driven by Playwright, no browser
download). Every page a browser test opens can reach the service under test and nothing else:
requests to any other host are aborted and recorded, so a page that needs the internet is
caught."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from exporter.access.keys import keys_file_entry, new_token
from tests.support.servers import LiveServer, start_server

#: Key id -> (export patterns, extra TOML lines). Each test uses its own key, so one test's
#: rate or concurrency never leaks into another's.
KEY_SPECS: dict[str, tuple[list[str], str]] = {
    "full": (["*"], "burst = 1000\nrequests_per_minute = 6000\n"),
    "orders-only": (["orders", "cust*"], "burst = 1000\n"),
    "logged": (["*"], "burst = 1000\n"),
    "slow": (["*"], "requests_per_minute = 6\nburst = 2\n"),
    "burst": (["*"], "requests_per_minute = 6\nburst = 3\n"),
    "pair": (["*"], "burst = 100\nconcurrent_exports = 2\n"),
    "single": (["*"], "burst = 100\nconcurrent_exports = 1\n"),
}


@pytest.fixture(scope="session")
def tokens() -> dict[str, str]:
    """A fresh token per key id of ``KEY_SPECS``."""
    return {key_id: new_token(key_id) for key_id in KEY_SPECS}


@pytest.fixture(scope="session")
def keys_file(tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.toml"
    entries = [
        keys_file_entry(key_id, tokens[key_id], patterns) + extra
        for key_id, (patterns, extra) in KEY_SPECS.items()
    ]
    path.write_text("# Test keys.\n\n" + "\n".join(entries))
    return path


@pytest.fixture(scope="session")
def secured_server(
    database_url: str,
    catalog_dir: Path,
    keys_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """One shared server that requires the keys of ``KEY_SPECS``."""
    server = start_server(
        database_url,
        catalog_dir,
        tmp_path_factory.mktemp("secured"),
        EXPORTER_AUTH="auto",
        EXPORTER_KEYS_FILE=str(keys_file),
    )
    try:
        yield server
    finally:
        server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


CHROMIUM = Path("/usr/bin/chromium")
#: Flags that work on this closed network (without the background-networking ones, Chromium's
#: own connections are refused and pages stall).
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: Set to a directory to write the README's screenshots there (docs/images).
SCREENSHOTS_ENV = "EXPORTER_UI_SCREENSHOTS"


@pytest.fixture(scope="module")
def browser(database_url: str) -> Iterator[Browser]:
    """Chromium, for one test module.

    Playwright's sync API keeps an event loop running on this thread while it is open, and
    ``asyncio.run`` (the database fixtures) refuses to start inside one: so the test database
    exists before the browser starts, and the browser is gone before other modules' async tests.
    """
    # Fail, never skip: a missing browser must not pass as a green run (.ci/run installs it).
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Offline:
    """Requests the pages tried to send elsewhere than the service (all were aborted)."""

    allowed_origin: str
    blocked: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or f"{parts.scheme}://{parts.netloc}" == (
            self.allowed_origin
        ):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


def open_context(browser: Browser, base_url: str) -> tuple[BrowserContext, Offline]:
    """A fresh browser context (its own cookies) that can reach ``base_url`` only."""
    context = browser.new_context(
        base_url=base_url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(30_000)
    offline = Offline(base_url)
    context.route("**/*", offline.route)
    return context, offline


@pytest.fixture
def offline_page(browser: Browser, live_server: LiveServer) -> Iterator[tuple[Page, Offline]]:
    """A page on the shared live server (authentication off)."""
    context, offline = open_context(browser, live_server.base_url)
    try:
        yield context.new_page(), offline
    finally:
        context.close()


@pytest.fixture
def page(offline_page: tuple[Page, Offline]) -> Page:
    return offline_page[0]


def screenshot(page: Page, name: str) -> None:
    """Write ``name``.png for the README when SCREENSHOTS_ENV names a directory."""
    directory = os.environ.get(SCREENSHOTS_ENV)
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=False)
