"""The policy editor's guard rails in a real browser: preview a draft, no silent "moderation off",
restore the server default."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.browser import MOBILE, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import ClientFactory, auth, login
from tests.test_console_browser import chat, console

STUPID = "you are a stupid idiot"


async def test_preview_warn_and_restore_default(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    # Start from a simple custom policy (flag anything at 0.7), so "Any" is the only level.
    token = await login(client, "test_streamer", "test456")
    simple = {"levels": [{"category": "*", "threshold": 0.7, "action": "flag"}]}
    assert (await client.put("/api/streams/main/policy", json=simple, headers=auth(token))).status == 200
    page = await console(open_page, client)
    policy = page.locator("#policy")
    await expect(policy.get_by_role("button", name="Restore server default")).to_have_count(1)

    # Preview: the draft (hold at 0.5) against the current policy, on the moderator's own samples.
    await policy.locator("select[name='action[*]']").select_option("hold")
    await policy.locator("input[name='threshold[*]']").fill("0.5")
    await policy.get_by_label("Try messages").fill(f"what a great stream\n{STUPID}")
    await policy.get_by_role("button", name="Preview").click()
    rows = policy.locator("#policy-preview table.preview tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator("td").nth(2)).to_contain_text("allow")
    await expect(rows.nth(1).locator("td").nth(1)).to_contain_text("flag")  # what happens now
    await expect(rows.nth(1).locator("td").nth(2)).to_contain_text("hold")  # what the draft would do
    await expect(rows.nth(1)).to_have_class("changed")
    stored = await (await client.get("/api/streams/main/policy", headers=auth(token))).json()
    assert [lv["action"] for lv in stored["levels"]] == ["flag"]  # a preview saves nothing

    # Clearing the "Any" row: the preview and the save both warn, and nothing is saved unconfirmed.
    await policy.locator("select[name='action[*]']").select_option("none")
    await policy.locator("input[name='threshold[*]']").fill("")
    await policy.get_by_role("button", name="Preview").click()
    await expect(policy.locator("#policy-preview .warning")).to_contain_text("only listed terms are caught")
    await expect(rows.nth(1).locator("td").nth(2)).to_contain_text("allow")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.locator(".warning[role=alert]").first).to_contain_text("No level acts")
    await expect(policy.locator(".saved")).to_have_count(0)
    await screenshot(page, "policy-editor-warning.png")
    stored = await (await client.get("/api/streams/main/policy", headers=auth(token))).json()
    assert [lv["action"] for lv in stored["levels"]] == ["flag"]  # still moderated
    sender = await sio_client("demo_user", "demo123", join="main")
    assert (await chat(sender, STUPID))["action"] == "flag"

    await policy.get_by_label("Save it anyway").check()
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.locator(".saved")).to_have_text("Saved.")
    assert (await chat(sender, STUPID))["action"] == "allow"  # the moderator chose this, knowingly

    # Restore the server default: asked first, audited, and the chat is moderated again.
    page.once("dialog", lambda dialog: dialog.accept())
    await policy.get_by_role("button", name="Restore server default").click()
    await expect(policy.locator(".saved")).to_have_text("Restored the server default.")
    await expect(policy.get_by_role("heading")).to_contain_text("server default")
    await expect(policy.locator("select[name='action[insult]']")).to_have_value("block")
    await expect(page.locator("#audit-rows li").first).to_contain_text("policy restore default")
    assert (await chat(sender, STUPID))["action"] == "block"  # the default blocks clear insults
    stored = await (await client.get("/api/streams/main/policy", headers=auth(token))).json()
    assert stored["custom"] is False


async def test_preview_on_a_phone(client: TestClient, open_page: PageFactory) -> None:
    page = await console(open_page, client, viewport=MOBILE)
    policy = page.locator("#policy")
    await policy.get_by_role("button", name="Preview").click()  # the built-in samples
    await expect(policy.locator("#policy-preview table.preview tbody tr")).to_have_count(5)
    await policy.scroll_into_view_if_needed()
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
    await screenshot(page, "policy-preview-phone.png")
