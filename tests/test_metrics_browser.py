"""Metrics a moderator can trust, in a real browser: they survive a restart, every gift number means one
thing, the toxicity chart is a rolling rate with gaps, and a reset is a window, not a deletion."""

from __future__ import annotations

import re
import time

from aiohttp.test_utils import TestClient

from tests.browser import Locator, Page, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import AppFactory, ClientFactory, auth, login
from tests.test_console_browser import console, toast
from tests.test_viewer_browser import INSULT, viewer

GIFTS = [("demo_user", "rose", 3), ("chat_viewer", "heart", 10), ("demo_user", "star", 2)]


def tile(page: Page, label: str) -> Locator:
    return page.locator("#metrics .metric", has=page.locator(".label", has_text=label))


async def test_metrics_survive_a_restart_and_gift_numbers_agree(
    make_app: AppFactory,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    first = await make_app()
    sender = await sio_client("demo_user", "demo123", join="main", test_client=first)
    for text in ("hello", "nice stream", INSULT, "gg"):
        assert (await sender.call("chat", {"message": text}))["ok"]
    admin = await login(first, "demo_admin", "admin123")
    for who, gift, amount in GIFTS:
        resp = await first.post(
            "/api/gift", json={"from": who, "gift_id": gift, "amount": amount, "stream": "main"}, headers=auth(admin)
        )
        assert resp.status == 200, await resp.text()
    await sender.sio.disconnect()
    await first.close()  # a restart: the counters lived in that process

    second = await make_app()
    figures = await (await second.get("/metrics?stream=main")).json()
    assert (figures["message_count"], figures["gift_count"], figures["gift_amount"]) == (4, 3, 15)
    assert figures["toxic_pct"] == 25.0
    page = await console(open_page, second)
    await expect(tile(page, "Messages").locator("b")).to_have_text("4")
    await expect(page.locator("#feed-count")).to_have_text("4 stored")  # the same four
    await expect(tile(page, "Gifts sent").locator("b")).to_have_text("3")
    await expect(tile(page, "Gifts sent").locator(".sub")).to_have_text("15 total amount")
    gifters = page.locator("#charts .gifters li")
    await expect(gifters).to_have_count(2)
    await expect(gifters.nth(0)).to_contain_text("chat_viewer")
    await expect(gifters.nth(0).locator(".amount")).to_have_text("10")
    await expect(gifters.nth(1).locator(".amount")).to_have_text("5")
    await expect(tile(page, "Toxic").locator("b")).to_have_text("25.0%")  # the last minute: 1 of 4
    await expect(page.locator("#tox-now")).to_contain_text("25.0%")  # the chart says the same

    # The viewer's "N gifts" counts gift events too, from the same numbers, and keeps counting live.
    watcher = await viewer(open_page, second, "chat_viewer", "viewer789")
    await expect(watcher.locator("#stage-gifts")).to_have_text("3")
    resp = await second.post(
        "/api/gift",
        json={"from": "demo_user", "gift_id": "rose", "amount": 7, "stream": "main"},
        headers=auth(await login(second, "demo_admin", "admin123")),
    )
    assert resp.status == 200
    await expect(watcher.locator("#stage-gifts")).to_have_text("4")
    await expect(tile(page, "Gifts sent").locator("b")).to_have_text("4")  # the 2 s refresh
    await expect(tile(page, "Gifts sent").locator(".sub")).to_have_text("22 total amount")
    await screenshot(page, "metrics-after-restart.png")

    # Reset: a new window starts (audited); nothing stored goes away, and a restart keeps the window.
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Reset metrics").click()
    await expect(toast(page, "Metrics reset.")).to_be_visible()
    await expect(tile(page, "Messages").locator("b")).to_have_text("0")
    await expect(page.locator("#metrics .window")).to_contain_text("since the reset at")
    await expect(page.locator("#audit-rows li").first).to_contain_text("demo_admin reset metrics")
    await page.reload()
    await expect(page.locator("#feed-count")).to_have_text("4 stored")
    await second.close()
    third = await make_app()
    figures = await (await third.get("/metrics?stream=main")).json()
    assert (figures["message_count"], figures["gift_count"], figures["since"] is not None) == (0, 0, True)


async def test_toxicity_chart_is_a_rolling_rate_with_gaps(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    from safestream.app_keys import METRICS_KEY
    from safestream.chat.metrics import BUCKET_SECS

    metrics = client.app[METRICS_KEY]
    now = int(time.time()) // BUCKET_SECS * BUCKET_SECS
    # Eight minutes ago a short raid (toxic, then mixed), then silence until now.
    for age, messages, toxic in ((48, 2, 2), (47, 2, 0), (46, 4, 1)):
        metrics.timeline["main"].append([now - age * BUCKET_SECS, messages, toxic])
    sender = await sio_client("demo_user", "demo123", join="main")
    for text in ("hello", INSULT, "gg", "nice"):
        assert (await sender.call("chat", {"message": text}))["ok"]
    page = await console(open_page, client)
    chart = page.locator("#charts svg.chart").first
    # Two stretches with messages, a gap between (not a drop to 0 %), and the rate is per minute.
    await expect(chart.locator("polyline.tox-line")).to_have_count(2)
    points = [await line.get_attribute("points") for line in await chart.locator("polyline.tox-line").all()]
    top, bottom = 4.0, 136.0  # the chart's 100 % and 0 % lines (charts.PAD, charts.HEIGHT)
    first_run = [round(100 * (bottom - float(p.split(",")[1])) / (bottom - top), 1) for p in points[0].split()]
    # Rolling over 60 s: 2 of 2, 2 of 4, 3 of 8 while the raid is inside the minute, then the first
    # buckets leave the window (1 of 6, 1 of 4), then nothing: the line stops.
    assert first_run == [100.0, 50.0, 37.5, 37.5, 37.5, 37.5, 16.7, 25.0]
    await expect(page.locator("#tox-tile")).to_have_text("25.0%")
    await expect(page.locator("#tox-now")).to_have_text(re.compile(r"^25\.0% last minute$"))
    await screenshot(page, "metrics-rolling-chart.png")
