"""Chat modes in real browsers: the console switches them, the viewer client shows them.

Chromium runs the console (shield, the policy editor's modes, bulk actions)
and the viewer client (shield banner, composer disabled with the reason,
emote-only hint, pre-send nudge); python-socketio clients play the raiders.
"""

from __future__ import annotations

import logging
import re

import pytest
from aiohttp.test_utils import TestClient

from tests.browser import Dialog, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import ClientFactory, auth, login
from tests.test_console_browser import WIDE, console
from tests.test_modes import age
from tests.test_viewer_browser import log_in, message, send, url, viewer


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_shield_from_the_console_shows_a_banner_and_gates_new_accounts(
    client: TestClient, open_page: PageFactory
) -> None:
    await age(client, "chat_viewer")
    regular = await viewer(open_page, client, "chat_viewer", "viewer789")
    fresh = await viewer(open_page, client, "demo_user", "demo123")
    page = await console(open_page, client, "test_streamer", "test456", viewport=WIDE)
    raid = page.locator("#raid")
    await raid.get_by_role("button", name="Shield mode").click()
    await expect(raid.locator("#shield-state")).to_contain_text("ON")
    await expect(page.locator("#policy .shield-note")).to_be_visible()  # the editor was re-rendered too
    await expect(page.locator("#audit-rows li").first).to_contain_text("shield on")

    await expect(regular.locator("#shield-banner")).to_be_visible()
    await expect(regular.locator("#shield-banner")).to_contain_text("Shield mode is on")
    await expect(regular.locator("#composer-input")).to_be_enabled()
    await expect(fresh.locator("#composer-input")).to_be_disabled()
    await expect(fresh.locator("#composer-input")).to_have_attribute(
        "placeholder", "Your account is too new to chat here"
    )
    await expect(fresh.locator("#composer-hint")).to_contain_text("Accounts younger than 60 min cannot chat here")
    await screenshot(page, "modes-console-shield.png")
    await screenshot(fresh, "modes-viewer-shield-new-account.png")

    await raid.get_by_role("button", name="Turn shield off").click()
    await expect(raid.locator("#shield-state")).to_contain_text("off")
    await expect(regular.locator("#shield-banner")).to_be_hidden()
    await expect(fresh.locator("#composer-input")).to_be_enabled()
    await send(fresh, "back to normal")
    await expect(message(regular, "back to normal")).to_be_visible()


async def test_policy_editor_modes_members_only_and_emote_only(client: TestClient, open_page: PageFactory) -> None:
    page = await console(open_page, client, "test_streamer", "test456", viewport=WIDE)
    outsider = await viewer(open_page, client, "demo_user", "demo123")
    member = await viewer(open_page, client, "chat_viewer", "viewer789")
    policy = page.locator("#policy")
    await policy.locator("input[name='modes.members_only']").check()
    await policy.locator("textarea[name='modes.members']").fill("chat_viewer")
    await policy.locator("input[name='modes.emote_only']").check()
    await policy.locator("textarea[name='modes.emotes']").fill("🔥\n:hype:")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.locator(".saved")).to_have_text("Saved.")
    await expect(policy.locator("input[name='modes.members_only']")).to_be_checked()

    await expect(outsider.locator("#composer-input")).to_be_disabled()
    await expect(outsider.locator("#composer-input")).to_have_attribute("placeholder", "Members-only chat right now")
    await expect(outsider.locator("#composer-hint")).to_contain_text("Only the streamer's members and moderators")
    await expect(member.locator("#composer-input")).to_be_enabled()
    await expect(member.locator("#composer-hint")).to_contain_text("Emote-only mode: 🔥 :hype:")
    await send(member, "hello")
    await expect(member.locator(".toast", has_text="emote-only mode")).to_be_visible()
    await send(member, "🔥 :hype:")
    await expect(message(outsider, "🔥 :hype:")).to_be_visible()
    await screenshot(outsider, "modes-viewer-members-only.png")
    await screenshot(member, "modes-viewer-emote-only.png")

    # A bad value comes back with the field named and nothing saved.
    await policy.locator("textarea[name='modes.links.permitted_domains']").fill("not a domain")
    await policy.locator("select[name='modes.links.action']").select_option("hold")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.locator(".error")).to_contain_text("modes.links.permitted_domains")


async def test_bulk_action_removes_and_times_out_then_undo(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    for name in ("raid_a", "raid_b"):
        resp = await client.post("/auth/register", json={"username": name, "password": "secret123"})
        assert resp.status == 201
    watcher = await viewer(open_page, client, "chat_viewer", "viewer789")
    # Another moderator's console is open on the feed while the streamer acts from theirs.
    other = await console(open_page, client, "demo_admin", "admin123", viewport=WIDE)
    raiders = [await sio_client(n, "secret123", join="main") for n in ("raid_a", "raid_b")]
    ids = []
    for i, r in enumerate(raiders):
        ack = await r.call("chat", {"message": f"free followers at my page {i}"})
        assert ack["ok"]
        ids.append(ack["id"])
    assert (await raiders[0].call("chat", {"message": "an innocent line"}))["ok"]
    await expect(message(watcher, "free followers at my page 1")).to_be_visible()
    for seq in ids:
        await expect(other.locator(f"#msg-{seq}")).to_be_visible()
        await expect(other.locator(f"#msg-{seq} .remove-msg")).to_have_count(1)
    page = await console(open_page, client, "test_streamer", "test456", viewport=WIDE)
    page.on("dialog", accept)
    raid = page.locator("#raid")
    await raid.locator("#bulk-phrase").fill("free followers")
    await raid.locator("#bulk-sanction").select_option("timeout")
    await raid.get_by_role("button", name="Remove and sanction").click()
    await expect(raid.locator("#bulk-result")).to_contain_text("Removed 2 message(s) and timed out 2 sender(s).")
    await expect(message(watcher, "free followers at my page 0")).to_have_count(0)
    await expect(message(watcher, "free followers at my page 1")).to_have_count(0)
    await expect(message(watcher, "an innocent line")).to_be_visible()
    for seq in ids:  # struck live in the other console, its remove button gone
        await expect(other.locator(f"#msg-{seq}")).to_have_class(re.compile(r"\bremoved\b"))
        await expect(other.locator(f"#msg-{seq} .remove-msg")).to_have_count(0)
    await expect(other.locator("#feed-rows tr.msg", has_text="an innocent line")).not_to_have_class(
        re.compile(r"\bremoved\b")
    )
    await screenshot(other, "modes-console-bulk-other-console.png")
    await screenshot(page, "modes-console-bulk.png")
    assert (await raiders[0].call("join", {"stream": "main"}))["error"]["code"] == "banned"
    await raid.get_by_role("button", name="Undo the bans").click()
    await expect(raid.locator("#bulk-result")).to_contain_text("Lifted the bans of 2 user(s).")
    assert (await raiders[0].call("join", {"stream": "main"}))["ok"]


async def test_nudge_warns_before_sending(client: TestClient, open_page: PageFactory) -> None:
    token = await login(client, "test_streamer", "test456")
    resp = await client.put(
        "/api/streams/main/policy",
        headers=auth(token),
        json={
            "levels": [{"category": "*", "threshold": 0.5, "action": "hold"}],
            "modes": {"links": {"action": "hold"}},
        },
    )
    assert resp.status == 200
    page = await viewer(open_page, client, "demo_user", "demo123")
    other = await viewer(open_page, client, "chat_viewer", "viewer789")
    hint = page.locator("#composer-hint")
    await page.locator("#composer-input").fill("check out example dot com")
    await expect(hint).to_have_text("This may be held for a moderator before anyone sees it.")
    await screenshot(page, "modes-viewer-nudge.png")
    await page.locator("#composer-input").fill("what a great play")
    await expect(hint).to_be_hidden()
    await page.locator("#composer-input").fill("")
    await send(page, "what a great play")
    await expect(message(other, "what a great play")).to_be_visible()
    # The nudged drafts were never sent to anyone.
    await expect(message(other, "check out example dot com")).to_have_count(0)


async def test_verified_email_gate_with_the_mailed_link(
    client: TestClient,
    open_page: PageFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    resp = await client.post(
        "/auth/register", json={"username": "mailme", "password": "secret123", "email": "mailme@example.org"}
    )
    assert resp.status == 201
    token = await login(client, "test_streamer", "test456")
    assert (
        await client.put(
            "/api/streams/main/policy",
            headers=auth(token),
            json={"levels": [{"category": "*", "threshold": 0.9, "action": "flag"}], "modes": {"verified_email": True}},
        )
    ).status == 200
    page = await open_page()
    await page.goto(url(client, "/chat/main"))
    await log_in(page, "mailme", "secret123")
    composer = page.locator("#composer-input")
    await expect(composer).to_be_disabled()
    await expect(composer).to_have_attribute("placeholder", "Verify your email to chat here")
    with caplog.at_level(logging.WARNING, logger="safestream.auth.mail"):
        await page.locator("#verify-request").click()
        await expect(page.locator(".toast", has_text="Check your email")).to_be_visible()
    link = re.search(r"Or open \S+(/chat\?verify=\S+)", caplog.text)
    assert link, caplog.text
    await screenshot(page, "modes-viewer-verify-email.png")
    await page.goto(url(client, "/chat/main").replace("/chat/main", "") + link.group(1))  # the mailed link
    await expect(page.locator(".toast", has_text="Your email address is verified.")).to_be_visible()
    await expect(page).not_to_have_url(re.compile("verify="))
    await page.goto(url(client, "/chat/main"))
    await expect(composer).to_be_enabled()


async def test_spam_rules_from_the_editor_and_what_the_viewer_is_told(
    client: TestClient, open_page: PageFactory
) -> None:
    page = await console(open_page, client, "test_streamer", "test456", viewport=WIDE)
    policy = page.locator("#policy")
    await policy.locator("input[name='modes.unique.on']").check()
    await policy.locator("select[name='modes.links.action']").select_option("refuse")
    await policy.locator("select[name='modes.mentions.action']").select_option("refuse")
    await policy.locator("input[name='modes.mentions.max_mentions']").fill("2")
    await policy.locator("select[name='modes.caps.action']").select_option("mask")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.locator(".saved")).to_have_text("Saved.")
    await expect(policy.locator("select[name='modes.links.action']")).to_have_value("refuse")
    # The editor's preview shows what the rules would do, before anything is saved.
    await policy.locator("select[name='modes.links.action']").select_option("hold")
    await policy.locator("textarea[name='samples']").fill("see example dot com\nWHY IS NOBODY TALKING HERE")
    await policy.get_by_role("button", name="Preview").click()
    rows = policy.locator("#policy-preview tbody tr")
    await expect(rows.nth(0)).to_contain_text("refuse")  # now
    await expect(rows.nth(0).locator(".badge-hold")).to_be_visible()  # with the draft
    await expect(rows.nth(1)).to_contain_text("shown as: why is nobody talking here")
    await policy.locator("select[name='modes.links.action']").select_option("refuse")

    me = await viewer(open_page, client, "demo_user", "demo123")
    other = await viewer(open_page, client, "chat_viewer", "viewer789")
    await send(me, "hello everyone")
    await expect(message(other, "hello everyone")).to_be_visible()
    await send(me, "Hello everyone!!")
    await expect(me.locator(".toast", has_text="unique chat: you just sent that")).to_be_visible()
    await expect(me.locator("#composer-input")).to_have_value("Hello everyone!!")  # the draft is kept to rephrase
    await send(me, "free skins at example dot com")
    await expect(me.locator(".toast", has_text="links are not allowed in this chat")).to_be_visible()
    await send(me, "@a @b @c hi")
    await expect(me.locator(".toast", has_text="at most 2 @mentions per message")).to_be_visible()
    await send(me, "WHY IS NOBODY TALKING HERE")
    await expect(message(other, "why is nobody talking here")).to_be_visible()
    await expect(me.locator("#messages .msg .tag-masked")).to_have_count(1)
    await expect(me.locator("#messages .msg .tag-flagged")).to_have_count(0)  # spam, not toxicity
    await screenshot(me, "modes-viewer-refusals.png")
    await expect(message(other, "free skins at example dot com")).to_have_count(0)
