"""What happened to my message, in a real browser: a held message turns into the published one (in
place, under its id) or into "not published"; a blocked one says why; a masked one is masked for all."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.browser import MOBILE, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import auth, login
from tests.test_console_browser import console
from tests.test_viewer_browser import (
    INSULT,
    message,
    send,
    set_policy,
    shown_ids,
    viewer,
)


async def test_held_then_approved_denied_blocked_and_masked(client: TestClient, open_page: PageFactory) -> None:
    await set_policy(client, {"levels": [{"category": "*", "threshold": 0.5, "action": "hold"}], "term_action": "mask"})
    sender = await viewer(open_page, client, "demo_user", "demo123", viewport=MOBILE)
    other = await viewer(open_page, client, "chat_viewer", "viewer789")
    mod = await console(open_page, client)

    # Held: only the sender sees it, as held. Approved: it becomes the published message, in place.
    await send(sender, "fuck off " + INSULT)
    held = sender.locator("#messages .own-held")
    await expect(held.locator(".tag-held")).to_have_text("Held for review")
    await send(sender, "after the held one")
    await expect(message(other, "after the held one")).to_be_visible()
    item = mod.locator("#review-rows .review-item").first
    await item.get_by_role("button", name="Approve", exact=True).click()
    published = "f*** off " + INSULT  # the send path's rendering: the listed word stays masked
    await expect(message(other, published)).to_be_visible()
    await expect(message(sender, published)).to_be_visible()
    await expect(sender.locator("#messages .own-held")).to_have_count(0)  # the held card was replaced
    assert await shown_ids(sender) == await shown_ids(other)  # same ids, same order, for both
    ids = await shown_ids(other)
    assert ids == sorted(ids) and len(ids) == 2  # published under its own (earlier) id, before the later one
    await expect(other.get_by_text("fuck off")).to_have_count(0)

    # Denied: the sender's card says so; nobody else ever sees it.
    await send(sender, INSULT + " again")
    await expect(sender.locator("#messages .own-held")).to_have_count(1)
    await mod.locator("#review-rows .review-item").first.get_by_role("button", name="Deny").click()
    denied = sender.locator("#messages .own-denied")
    await expect(denied.locator(".tag-denied")).to_have_text("Not published")
    await expect(denied.locator(".msg-explain")).to_have_text(re.compile("A moderator decided not to publish it"))
    await expect(mod.locator("#feed-rows tr.msg .review-state").first).to_contain_text("denied by demo_admin")
    await screenshot(sender, "review-outcomes-phone.png")

    # Blocked: the sender reads why, in words.
    await set_policy(client, {"levels": [{"category": "*", "threshold": 0.5, "action": "block"}]})
    await send(sender, INSULT + "!")
    blocked = sender.locator("#messages .own-blocked")
    await expect(blocked.locator(".tag-blocked")).to_have_text("Not sent")
    # The category that decided, in plain words (the offline test model scores "toxicity").
    await expect(blocked.locator(".msg-explain")).to_have_text(
        re.compile(
            r"^Not sent because it (looks abusive|looks seriously abusive|contains obscene language|reads as a threat"
            r"|reads as an insult|attacks people for who they are)\. Nobody else saw it"
        )
    )

    # Masked: everyone, the sender included, sees the masked text.
    await set_policy(client, {"levels": [{"category": "*", "threshold": 0.99, "action": "flag"}]})
    await send(sender, "holy shit that was close")
    for page in (sender, other):
        await expect(message(page, "holy s*** that was close")).to_be_visible()
    await expect(message(sender, "holy s*** that was close").locator(".tag-masked")).to_be_visible()
    token = await login(client, "test_streamer", "test456")
    assert (await client.get("/api/streams/main/review", headers=auth(token))).status == 200
    await screenshot(sender, "review-outcomes-phone-2.png")
