"""A streamer's loop in a real browser: go live from the console, rename, end; viewers follow live.

The streamer drives the console in Chromium; a viewer's page in another
context watches the stream list and the room, with no reload and well inside
the old 20 s poll.
"""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.browser import MOBILE, Page, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.test_viewer_browser import log_in, url

#: Live updates must beat the picker's fallback timer by far.
LIVE_MS = 4000


async def console_login(page: Page, client: TestClient, username: str, password: str) -> None:
    await page.goto(url(client, "/console/login"))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def test_go_live_rename_and_end_from_the_console(client: TestClient, open_page: PageFactory) -> None:
    viewer = await open_page()
    await viewer.goto(url(client, "/chat"))
    await log_in(viewer, "chat_viewer", "viewer789")
    await expect(viewer.locator(".stream-card[data-stream=main]")).to_be_visible()
    await expect(viewer.locator(".stream-card[data-stream=gaming]")).to_have_count(0)
    await viewer.wait_for_function("window.SafeStreamChat.socket && window.SafeStreamChat.socket.connected")

    streamer = await open_page()
    await console_login(streamer, client, "test_streamer", "test456")
    await expect(streamer).to_have_url(re.compile(r"/console/s/main$"))
    await expect(streamer.locator("#live-state")).to_have_text("live")
    go_live = streamer.locator("#go-live")
    await go_live.get_by_label("Stream name").fill("gaming")
    await go_live.get_by_label("Title").fill("Speedrun night")
    await go_live.get_by_role("button", name="Go live").click()

    # The streamer lands on the new stream's console, live; the viewer's list has it at once.
    await expect(streamer).to_have_url(re.compile(r"/console/s/gaming$"))
    await expect(streamer.locator("#live-state")).to_have_text("live")
    await expect(streamer.locator("#stream-card .stream-title")).to_have_text("Speedrun night")
    card = viewer.locator(".stream-card[data-stream=gaming]")
    await expect(card).to_be_visible(timeout=LIVE_MS)
    await expect(card).to_contain_text("Speedrun night")
    await screenshot(streamer, "streamer-console-live.png")
    await screenshot(viewer, "streamer-viewer-picker.png")

    # Renaming shows in the list and, once the viewer is in the room, in its header.
    card_title = streamer.locator("#stream-card form.retitle")
    await card_title.get_by_label("Title").fill("Speedrun night: any%")
    await card_title.get_by_role("button", name="Save title").click()
    await expect(card).to_contain_text("Speedrun night: any%", timeout=LIVE_MS)
    await card.click()
    await expect(viewer.locator("#room-title")).to_have_text("Speedrun night: any%")
    await expect(viewer.locator("#composer-input")).to_be_enabled()
    await card_title.get_by_label("Title").fill("Speedrun night: 100%")
    await card_title.get_by_role("button", name="Save title").click()
    await expect(viewer.locator("#room-title")).to_have_text("Speedrun night: 100%", timeout=LIVE_MS)

    # Ending asks first; then the pill says "ended", the viewer is told, the list drops it.
    streamer.once("dialog", lambda dialog: dialog.dismiss())
    await streamer.get_by_role("button", name="End stream").click()
    await expect(streamer.locator("#live-state")).to_have_text("live")  # dismissed: nothing happened
    streamer.once("dialog", lambda dialog: dialog.accept())
    await streamer.get_by_role("button", name="End stream").click()
    await expect(streamer.locator("#live-state")).to_have_text("ended")
    await expect(streamer.locator("#stream-card .stream-state")).to_have_text("ended")
    await expect(streamer.get_by_role("button", name="Go live again")).to_be_visible()
    await expect(streamer.locator("#stream-nav a", has_text="gaming")).to_have_count(0)
    await expect(viewer.locator("#notice").get_by_role("heading")).to_have_text("Stream ended")
    await screenshot(streamer, "streamer-console-ended.png")
    await viewer.locator("#notice-action").click()
    await expect(viewer.locator(".stream-card[data-stream=main]")).to_be_visible()
    await expect(viewer.locator(".stream-card[data-stream=gaming]")).to_have_count(0)

    # Going live again from the card brings it back to the viewer's list, live.
    await streamer.get_by_role("button", name="Go live again").click()
    await expect(streamer.locator("#live-state")).to_have_text("live")
    await expect(viewer.locator(".stream-card[data-stream=gaming]")).to_be_visible(timeout=LIVE_MS)


async def test_console_go_live_refuses_bad_names_and_viewers(client: TestClient, open_page: PageFactory) -> None:
    page = await open_page(MOBILE)
    await console_login(page, client, "test_streamer", "test456")
    form = page.locator("#go-live")
    await form.get_by_label("Stream name").fill("Bad Name!")
    await form.get_by_label("Stream name").evaluate("input => input.removeAttribute('pattern')")
    await form.get_by_role("button", name="Go live").click()
    await expect(page.locator("#toasts .toast.bad")).to_contain_text("Stream names use")
    await expect(page).to_have_url(re.compile(r"/console/s/main$"))
    await screenshot(page, "streamer-console-phone.png")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the console scrolls sideways on a phone by {overflow}px"
