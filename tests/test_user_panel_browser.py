"""The console's user panel in a real browser: click a name, see the person, act in one place."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from tests.browser import MOBILE, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import ClientFactory
from tests.test_console_browser import chat, console, feed_row, toast
from tests.test_viewer_browser import INSULT


@pytest.mark.parametrize("viewport", [None, MOBILE], ids=["desktop", "phone"])
async def test_user_panel_shows_the_person_and_acts(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
    viewport: object,
) -> None:
    sender = await sio_client("demo_user", "demo123", join="main")
    bystander = await sio_client("chat_viewer", "viewer789", join="main")
    for text in ("hi all", INSULT):
        await chat(sender, text)
    await chat(bystander, "hello")
    page = await console(open_page, client, viewport=viewport)  # type: ignore[arg-type]
    await feed_row(page, INSULT).locator(".pick-user").click()
    panel = page.locator("#user-panel")
    await expect(panel.get_by_role("heading").first).to_contain_text("demo_user")
    await expect(panel.locator(".panel-messages li")).to_have_count(2)  # theirs only, not the bystander's
    await expect(panel.locator(".panel-messages")).to_contain_text(INSULT)
    await expect(panel.locator(".standing")).to_contain_text("Ban none")
    await expect(panel.locator(".standing")).to_contain_text("Messages here 2")

    await panel.get_by_label("Reason").fill("cool off")
    await panel.get_by_role("button", name="10 min").click()
    await expect(toast(page, "Timed out demo_user for 600 s.")).to_be_visible()
    await expect(panel.locator(".standing li").first).to_contain_text(re.compile(r"Ban until \d\d:\d\d UTC"))
    await expect(panel.locator(".audit-rows li").first).to_contain_text("timeout")
    await sender.wait_for(lambda: sender.of("kicked"))  # a timeout removes them from the stream now
    await screenshot(page, f"user-panel-{'phone' if viewport else 'desktop'}.png")

    await panel.get_by_role("button", name="unban").click()
    await expect(panel.locator(".standing li").first).to_contain_text("Ban none")
    await expect(panel.locator(".audit-rows li").first).to_contain_text("unban")
    await panel.get_by_role("button", name="Close").click()
    await expect(page.locator("#user-panel")).to_be_hidden()
    if viewport:
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
