"""The viewer client on a phone, in a real browser: gift badges queue one at a time instead of
covering the chat, and names stay readable next to their tags."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.browser import DESKTOP, MOBILE, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import ClientFactory, auth, login
from tests.test_viewer_browser import message, send, viewer


async def test_gift_badges_queue_one_at_a_time_on_a_phone(client: TestClient, open_page: PageFactory) -> None:
    page = await viewer(open_page, client, "demo_user", "demo123", viewport=MOBILE)
    await page.evaluate("""() => {
        window.__maxBadges = 0;
        new MutationObserver(() => {
            window.__maxBadges = Math.max(window.__maxBadges, document.querySelectorAll('#gift-lane .gift-badge').length);
        }).observe(document.getElementById('gift-lane'), { childList: true });
    }""")
    admin = await login(client, "demo_admin", "admin123")
    senders = [("demo_user", "rose", 2), ("chat_viewer", "rocket", 5), ("test_streamer", "lion", 1)]
    for who, gift, amount in senders:
        resp = await client.post(
            "/api/gift", json={"from": who, "gift_id": gift, "amount": amount, "stream": "main"}, headers=auth(admin)
        )
        assert resp.status == 200, await resp.text()
    await expect(page.locator("#messages .note-gift")).to_have_count(3)  # every gift is in the chat at once
    badge = page.locator("#gift-lane .gift-badge")
    await expect(badge).to_have_count(1)
    await expect(badge).to_have_class(__import__("re").compile(r"\bcompact\b"))
    box = await page.locator("#gift-lane").bounding_box()
    assert box is not None and box["height"] <= 48, box  # one slim line, not a quarter of the chat
    await screenshot(page, "viewer-phone-gift.png")
    # They take turns: each sender's badge shows, in order, one at a time.
    for who, _, _ in senders:
        await expect(page.locator("#gift-lane .gift-badge .gift-from")).to_have_text(who, timeout=8000)
    await expect(badge).to_have_count(0, timeout=8000)
    assert await page.evaluate("() => window.__maxBadges") == 1


async def test_names_are_not_cut_by_their_tags(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    resp = await client.post("/auth/register", json={"username": "marathon_viewer_42", "password": "secret123"})
    assert resp.status == 201, await resp.text()
    for viewport in (MOBILE, DESKTOP):
        page = await viewer(open_page, client, "marathon_viewer_42", "secret123", viewport=viewport)
        text = f"holy shit this is {viewport['width']}"
        await send(page, text)  # mine, flagged and masked: three tags next to the name
        row = message(page, text.replace("shit", "s***"))
        await expect(row.locator(".tag-masked")).to_be_visible()
        name = row.locator(".msg-user")
        await expect(name).to_have_text("marathon_viewer_42")
        cut = await name.evaluate("node => node.scrollWidth > node.clientWidth")
        assert not cut, f"the name is truncated at {viewport['width']} px"
        await screenshot(page, f"viewer-names-{viewport['width']}.png")
