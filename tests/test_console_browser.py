"""The moderator console in a real browser, against the real app: what a moderator sees.

Chromium drives the console (log in, click, type) and the assertions are on the
screen; python-socketio clients, REST calls and viewer pages play everyone else
(chatters, the streamer, the viewer being kicked).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import IN_CI, ClientFactory, Recorder, auth, login

try:
    from playwright.async_api import Locator, Page, ViewportSize, expect
except ImportError:
    if IN_CI:
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

from tests.browser import (MOBILE, PageFactory, browser, chromium_executable,  # noqa: F401, E402 - fixtures
                           open_page, screenshot)
from tests.test_viewer_browser import INSULT, set_policy, url, viewer  # noqa: E402

WIDE: ViewportSize = {"width": 1440, "height": 900}
HOLD_TOXIC = {"levels": [{"category": "*", "threshold": 0.5, "action": "hold"}]}
HOLD_ALL = {"levels": [{"category": "*", "threshold": 0.0, "action": "hold"}]}
XSS = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=1</script>"]


async def console(open_page: PageFactory, client: TestClient, username: str = "demo_admin",  # noqa: F811
                  password: str = "admin123", viewport: ViewportSize | None = None) -> Page:
    """A page logged in through the console's form, on main's dashboard with live updates on."""
    page = await open_page(viewport)
    await page.goto(url(client, "/console"))  # not logged in: sent to the login form
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/console/s/main$"))  # the only live stream: straight there
    await expect(page.locator("#live-state")).to_have_text("live")
    return page


def feed_row(page: Page, text: str) -> Locator:
    """The feed row whose original message is exactly ``text``."""
    return page.locator("#feed-rows tr.msg").filter(
        has=page.locator(".said", has_text=re.compile("^" + re.escape(text) + "$")))


async def chat(sender: Recorder, text: str) -> dict[str, Any]:
    ack: dict[str, Any] = await sender.call("chat", {"message": text})
    assert ack["ok"], ack
    return ack


async def user_action(page: Page, action: str, username: str, reason: str = "", duration: str = "") -> None:
    form = page.locator("#user-actions")
    await form.get_by_label("Username").fill(username)
    await form.get_by_label("Reason").fill(reason)
    await form.get_by_label("Duration (s)").fill(duration)
    await form.get_by_role("button", name=action, exact=True).click()


def toast(page: Page, text: str) -> Locator:
    return page.locator("#toasts .toast", has_text=text)


async def test_scratch(client: TestClient, open_page: PageFactory, sio_client: ClientFactory) -> None:  # noqa: F811
    page = await console(open_page, client, viewport=WIDE)
    await set_policy(client, {"levels": [{"category": "*", "threshold": 0.5, "action": "flag"},
                                         {"category": "insult", "threshold": 0.9, "action": "hold"}]})
    a = await sio_client("demo_user", "demo123", join="main")
    b = await sio_client("chat_viewer", "viewer789", join="main")
    for who, text in [(a, "hello"), (b, "fuck you"), (a, INSULT), (b, "you are trash"), (a, "kill yourself")]:
        print(await chat(who, text))
    token = await login(client, "chat_viewer", "viewer789")
    for amount in (3, 5):
        resp = await client.post("/api/gift", json={"gift_id": "rocket", "amount": amount, "stream": "main"},
                                 headers=auth(token))
        assert resp.status == 200
    await expect(page.locator("#charts .gifters")).to_be_visible(timeout=10000)
    await screenshot(page, "console-scratch.png")
    m = await open_page(MOBILE)
    await m.context.add_cookies(await page.context.cookies())
    await m.goto(url(client, "/console/s/main"))
    await expect(m.locator("#live-state")).to_have_text("live")
    await screenshot(m, "console-scratch-mobile.png")


async def test_probe(client: TestClient, sio_client: ClientFactory) -> None:
    from tests.test_console import console_login
    await console_login(client)
    a = await sio_client("demo_user", "demo123", join="main")
    for text in ["hello", "fuck you", INSULT, "you are trash", "kill yourself", "you stupid moron", "I will find you and hurt you", "this streamer sucks", "go back to your country", "what a loser lol", "damn that was close", "shit happens"]:
        print(await chat(a, text))
    html = await (await client.get("/console/s/main/feed")).text()
    for m in re.finditer(r'<td class="score" title="([^"]*)">([^<]*)</td>', html):
        print(m.group(2), m.group(1).replace("&#10;", " | "))
