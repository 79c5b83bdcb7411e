"""Background jobs from the export page and the jobs page: live progress, cancel, download."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from playwright.sync_api import Browser, expect

from tests.features.conftest import open_context, screenshot
from tests.support.jobs import finished, submit, wait_for
from tests.support.servers import LiveServer

ROWS = 400_000


def test_a_background_job_shows_progress_and_its_file_downloads(
    browser: Browser, server_factory: Callable[..., LiveServer]
) -> None:
    # Progress is recorded every heartbeat, per block of COPY output (about 1 MiB; PostgreSQL
    # sends a slow query's small output only at its end): a big export and a short heartbeat
    # show several steps.
    server = server_factory(EXPORTER_JOB_HEARTBEAT="100ms")
    context, offline = open_context(browser, server.base_url)
    page = context.new_page()
    try:
        page.goto("/ui/exports/numbers")
        page.locator("#p-rows").fill(str(ROWS))
        page.locator("#format").select_option("ndjson")
        page.get_by_role("button", name="Run in background").click()
        expect(page.locator("#job")).to_be_visible()
        seen: list[int] = []
        deadline = time.monotonic() + 90
        while page.locator("#job-state").text_content() != "succeeded":
            assert time.monotonic() < deadline, f"job never finished; rows seen {seen}"
            assert page.locator("#job-state").text_content() in ("queued", "running")
            seen.append(int((page.locator("#job-rows").text_content() or "0").replace(",", "")))
            time.sleep(0.05)
        # The counters moved while it ran, and the bar ends full.
        assert any(0 < rows < ROWS for rows in seen), seen
        assert seen == sorted(seen)
        expect(page.locator("#job-rows")).to_have_text(f"{ROWS:,}")
        assert page.locator("#job-progress").evaluate("bar => bar.position") == 1.0
        expect(page.locator("#job-percent")).to_have_text("100%")
        screenshot(page, "background-job")
        link = page.locator("#job-download")
        with page.expect_download() as info:
            link.click()
        href = link.get_attribute("href")
        assert href is not None
        api = httpx.get(server.base_url + href, timeout=30)
        assert api.status_code == 200
        assert info.value.path().read_bytes() == api.content
        assert api.content.count(b"\n") == ROWS  # every row

        # The jobs page lists it with its file.
        page.goto("/ui/jobs")
        row = page.locator("tr[data-job]").first
        expect(row.locator('[data-cell="state"]')).to_have_text("succeeded")
        expect(row.locator('[data-cell="rows"]')).to_have_text(f"{ROWS:,}")
        expect(row.locator('[data-cell="file"] a')).to_have_attribute("href", href)
        assert offline.blocked == []
    finally:
        context.close()


def test_the_jobs_page_follows_running_jobs_and_cancel_stops_one(
    browser: Browser, server_factory: Callable[..., LiveServer]
) -> None:
    server = server_factory(EXPORTER_JOB_HEARTBEAT="100ms")
    context, _ = open_context(browser, server.base_url)
    page = context.new_page()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            job = submit(client, export="slow_numbers", params={"rows": 40, "delay_s": 0.05})
            page.goto("/ui/jobs")
            row = page.locator(f'tr[data-job="{job["id"]}"]')
            # No reload: the row turns to succeeded by itself.
            expect(row.locator('[data-cell="state"]')).to_have_text("succeeded", timeout=60_000)
            expect(row.locator('[data-cell="rows"]')).to_have_text("40")
            expect(row.locator('[data-cell="file"] a')).to_be_visible()

            page.goto("/ui/exports/slow_numbers")
            page.locator("#p-rows").fill("100000")
            page.get_by_role("button", name="Run in background").click()
            expect(page.locator("#job-state")).to_have_text("running", timeout=60_000)
            page.get_by_role("button", name="Cancel").click()
            expect(page.locator("#job-state")).to_have_text("cancelled", timeout=60_000)
            jobs = client.get("/jobs").json()["jobs"]
            assert jobs[0]["state"] == "cancelled" and jobs[0]["rows"] < 100000
            wait_for(client, jobs[0]["id"], finished)
    finally:
        context.close()
