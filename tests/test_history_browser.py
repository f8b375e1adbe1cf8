"""Searching, filtering, paging and exporting a stream's stored history, in a real browser."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from tests.browser import MOBILE, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import AppFactory, ClientFactory
from tests.test_console_browser import console
from tests.test_viewer_browser import INSULT


async def test_search_filter_page_and_export(
    make_app: AppFactory,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    client = await make_app(rate_limit_per_user=1000)
    chatty = await sio_client("demo_user", "demo123", join="main", test_client=client)
    other = await sio_client("chat_viewer", "viewer789", join="main", test_client=client)
    for i in range(55):
        assert (await chatty.call("chat", {"message": f"chatter {i:02d}"}))["ok"]
    for text in (INSULT, '=HYPERLINK("http://evil.example")', "hello from chat_viewer"):
        assert (await other.call("chat", {"message": text}))["ok"]
    page = await console(open_page, client)
    feed = page.locator("#feed")
    await expect(page.locator("#feed-count")).to_have_text("58 stored")

    # Pagination over the whole history.
    await expect(feed.locator(".pager")).to_contain_text("page 1 of 2")
    await feed.get_by_role("link", name="older ›").click()
    await expect(feed.locator(".pager")).to_contain_text("page 2 of 2")
    await expect(feed.locator("#feed-rows tr.msg")).to_have_count(8)

    # User + category: chat_viewer's toxic message (scored above the stream's flag threshold).
    await feed.get_by_label("User").fill("chat_viewer")
    await expect(page.locator("#feed-count")).to_have_text("3 matching")
    await feed.get_by_label("Category").select_option("toxicity")
    await expect(page.locator("#feed-count")).to_have_text("1 matching")
    await expect(feed.locator("#feed-rows tr.msg .said")).to_have_text(INSULT)

    # A time range that ends before anything was said matches nothing; one around now matches again.
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    await feed.get_by_label("To (UTC)").fill(past)
    await expect(page.locator("#feed-count")).to_have_text("0 matching")
    await feed.get_by_label("To (UTC)").fill("")
    await feed.get_by_label("From (UTC)").fill(past)
    await expect(page.locator("#feed-count")).to_have_text("1 matching")
    await screenshot(page, "history-filtered.png")

    # Export what is filtered: CSV (formulas defused) and JSONL, downloaded as a user would.
    await feed.get_by_label("Category").select_option("")
    await expect(page.locator("#feed-count")).to_have_text("3 matching")
    async with page.expect_download() as info:
        await feed.get_by_role("link", name="CSV").click()
    download = await info.value
    assert download.suggested_filename == "main-messages.csv"
    rows = list(csv.DictReader(io.StringIO((await download.path()).read_text("utf-8"))))
    assert [r["user"] for r in rows] == ["chat_viewer"] * 3
    assert [r["text"] for r in rows] == [INSULT, '\'=HYPERLINK("http://evil.example")', "hello from chat_viewer"]
    assert rows[0]["toxic"] == "True" and float(rows[0]["toxicity"]) > 0.5
    async with page.expect_download() as info:
        await feed.get_by_role("link", name="JSONL").click()
    lines = (await (await info.value).path()).read_text("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["text"] for r in records] == [INSULT, '=HYPERLINK("http://evil.example")', "hello from chat_viewer"]
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)

    # Without filters, the export is the whole history, oldest first.
    resp = await client.get("/console/s/main/export?format=jsonl")
    assert resp.status == 401  # not logged in: the console's cookie is required
    narrow = await console(open_page, client, viewport=MOBILE)
    assert await narrow.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
    await screenshot(narrow, "history-phone.png")
