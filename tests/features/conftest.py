"""A real browser for the pages: Debian's Chromium driven by Playwright (no browser download).

Every page a test opens can reach the service under test and nothing else: requests to any
other host are aborted and recorded, so a page that needs the internet is caught.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from tests.conftest import LiveServer

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
