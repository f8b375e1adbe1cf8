"""The viewer chat client in a real browser, against the real app: what a user sees.

Every test drives Chromium through the page (log in, pick, type, click) and
asserts on what is on screen; REST calls and Python Socket.IO clients play the
other people (the streamer, a moderator, other viewers).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp.test_utils import TestClient

from tests.browser import MOBILE, Page, PageFactory, ViewportSize, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import ClientFactory, auth, login

INSULT = "shut up you dumb idiot"  # scored ~1.0 by the offline model, contains no listed word


def url(client: TestClient, path: str) -> str:
    return str(client.make_url(path))


async def log_in(page: Page, username: str, password: str) -> None:
    form = page.locator("#login-form")
    await form.locator("input[name=username]").fill(username)
    await form.locator("input[name=password]").fill(password)
    await form.get_by_role("button", name="Log in").click()


async def viewer(
    open_page: PageFactory,
    client: TestClient,
    username: str,
    password: str,
    stream: str = "main",
    viewport: ViewportSize | None = None,
) -> Page:
    """A page logged in through the form and joined to ``stream`` (ready to chat)."""
    page = await open_page(viewport)
    await page.goto(url(client, f"/chat/{stream}"))
    await log_in(page, username, password)
    await expect(page.locator("#composer-input")).to_be_enabled()
    return page


async def send(page: Page, text: str) -> None:
    await page.locator("#composer-input").fill(text)
    await page.locator("#composer-input").press("Enter")


def message(page: Page, text: str) -> Any:
    """The chat row whose text is exactly ``text``."""
    return page.locator("#messages .msg").filter(
        has=page.locator(".msg-text", has_text=re.compile("^" + re.escape(text) + "$"))
    )


async def shown_ids(page: Page) -> list[int]:
    ids: list[int] = await page.eval_on_selector_all(
        "#messages .msg[data-id]", "rows => rows.map(row => Number(row.dataset.id))"
    )
    return ids


async def set_policy(client: TestClient, policy: dict[str, Any]) -> None:
    token = await login(client, "test_streamer", "test456")
    resp = await client.put("/api/streams/main/policy", json=policy, headers=auth(token))
    assert resp.status == 200, await resp.text()


async def test_log_in_pick_a_stream_chat_and_another_viewer_sees_it(client: TestClient, open_page: PageFactory) -> None:
    page = await open_page()
    await page.goto(url(client, "/"))  # the front door redirects to the chat client
    await expect(page.get_by_role("heading", name="Join the chat")).to_be_visible()
    await screenshot(page, "viewer-login.png")

    await log_in(page, "demo_user", "wrong-password")
    await expect(page.locator("#login-form .form-error")).to_have_text("Wrong username or password.")
    await log_in(page, "demo_user", "demo123")
    card = page.locator(".stream-card[data-stream=main]")
    await expect(card).to_be_visible()
    await expect(page.locator("#me-name")).to_have_text("demo_user")
    await screenshot(page, "viewer-picker.png")

    await card.click()
    await expect(page).to_have_url(re.compile(r"/chat/main$"))
    await expect(page.locator("#room-title")).to_have_text("SafeStream demo")
    await expect(page.locator("#live-badge")).to_have_text("LIVE")
    composer = page.locator("#composer-input")
    await expect(composer).to_be_enabled()
    await composer.fill("hello from the browser")
    await expect(page.locator("#counter")).to_have_text("22/500")
    await composer.press("Enter")
    mine = message(page, "hello from the browser")
    await expect(mine).to_be_visible()
    await expect(mine.locator(".tag-you")).to_be_visible()
    await expect(page.locator("#pending .msg")).to_have_count(0)  # the "sending" echo is gone once acked
    await expect(composer).to_have_value("")

    other = await viewer(open_page, client, "chat_viewer", "viewer789")
    await expect(message(other, "hello from the browser")).to_be_visible()  # from the join history
    await expect(page.locator("#viewer-count")).to_have_text("2")
    await send(other, "hi demo_user, welcome!")
    await expect(message(page, "hi demo_user, welcome!")).to_be_visible()  # live, over the socket
    for text in ("this stream is great", "anyone else watching from Lisbon?", "gg, that was close"):
        await send(page, text)
        await expect(message(other, text)).to_be_visible()
    token = await login(client, "chat_viewer", "viewer789")
    resp = await client.post("/api/gift", json={"gift_id": "heart", "amount": 5}, headers=auth(token))
    assert resp.status == 200, await resp.text()
    await expect(page.locator("#gift-lane .gift-badge .gift-amount")).to_have_text("×5")  # over the stage
    await expect(page.locator("#stage-gifts")).to_have_text("1")  # gift events, as the console counts them
    await screenshot(page, "viewer-chat.png")


async def test_toxic_messages_follow_the_policy(client: TestClient, open_page: PageFactory) -> None:
    sender = await viewer(open_page, client, "demo_user", "demo123")
    other = await viewer(open_page, client, "chat_viewer", "viewer789")

    # The default policy masks profanity alone (and tags the message).
    await send(sender, "fuck yeah")
    for page in (sender, other):
        row = message(page, "f*** yeah")
        await expect(row).to_be_visible()
        await expect(row).to_have_class(re.compile(r"\bflagged\b"))
        await expect(row.locator(".tag-flagged")).to_have_text("flagged")
    await expect(message(sender, "f*** yeah").locator(".tag-masked")).to_be_visible()  # the sender learns why

    # ...and blocks clear abuse: only the sender sees it, marked "not sent".
    await send(sender, INSULT)
    await expect(sender.locator("#messages .own-blocked .tag-blocked")).to_have_text("Not sent")
    await send(sender, "moving on")
    await expect(message(other, "moving on")).to_be_visible()
    await expect(other.get_by_text(INSULT)).to_have_count(0)

    # A hold policy: the sender is told, the other viewer never sees it.
    await set_policy(client, {"levels": [{"category": "*", "threshold": 0.5, "action": "hold"}]})
    await send(sender, INSULT)
    held = sender.locator("#messages .own-held")
    await expect(held).to_be_visible()
    await expect(held.locator(".tag-held")).to_have_text("Held for review")
    await expect(held.locator(".msg-text")).to_have_text(INSULT)
    await send(sender, "sorry, got carried away")  # a marker: everything before it has been delivered
    await expect(message(other, "sorry, got carried away")).to_be_visible()
    await expect(other.get_by_text(INSULT)).to_have_count(0)
    await screenshot(sender, "viewer-moderation.png")

    # A block policy: "not sent", only for the sender.
    await set_policy(client, {"levels": [{"category": "*", "threshold": 0.5, "action": "block"}]})
    await send(sender, INSULT + "!")
    blocked = sender.locator("#messages .own-blocked").last  # the default policy blocked one earlier
    await expect(blocked.locator(".msg-text")).to_have_text(INSULT + "!")
    await expect(blocked.locator(".tag-blocked")).to_have_text("Not sent")
    await send(sender, "nice weather today")
    await expect(message(other, "nice weather today")).to_be_visible()
    await expect(other.get_by_text(INSULT + "!")).to_have_count(0)


async def test_rate_limit_and_mute_feedback(make_app: Any, open_page: PageFactory) -> None:
    client = await make_app(rate_limit_per_user=2)
    page = await viewer(open_page, client, "demo_user", "demo123", viewport=MOBILE)
    await send(page, "one")
    await expect(message(page, "one")).to_be_visible()
    await send(page, "two")
    await expect(message(page, "two")).to_be_visible()
    await send(page, "three")
    await expect(page.locator("#composer-hint")).to_contain_text(re.compile(r"Slow down! You can send again in \d+s"))
    await expect(page.locator(".toast-error")).to_contain_text("too fast")
    await expect(page.locator("#composer-input")).to_have_value("three")  # the draft is given back
    await expect(page.locator("#send")).to_be_disabled()

    token = await login(client, "test_streamer", "test456")
    resp = await client.post(
        "/api/admin/mute", json={"username": "demo_user", "stream": "main", "duration_s": 300}, headers=auth(token)
    )
    assert resp.status == 200, await resp.text()
    bar = page.locator("#mute-bar")
    await expect(bar).to_contain_text(re.compile(r"You're muted · 4:5\d left"))
    await expect(page.locator("#composer-input")).to_be_disabled()
    await expect(page.locator("#composer-input")).to_have_attribute("placeholder", "You're muted")
    await screenshot(page, "viewer-muted-mobile.png")


async def test_gift_shows_an_animated_badge(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    page = await viewer(open_page, client, "demo_user", "demo123", viewport=MOBILE)
    chatter = await sio_client("chat_viewer", "viewer789", join="main")
    for text in ("first time here!", "the audio is so good today", "who's the guest?"):
        assert (await chatter.call("chat", {"message": text}))["ok"]
        await expect(message(page, text)).to_be_visible()
    await send(page, "hello everyone!")
    await expect(message(page, "hello everyone!")).to_be_visible()
    # Sent together, these leave moderation together: the server may deliver them as one chat_batch.
    burst = [f"burst {i}" for i in range(6)]
    await page.evaluate(
        "() => { window.__batches = 0; window.SafeStreamChat.socket.on('chat_batch', () => window.__batches++); }"
    )
    acks = await asyncio.gather(*(chatter.call("chat", {"message": text}) for text in burst))
    assert all(ack["ok"] for ack in acks)
    await expect(message(page, burst[-1])).to_be_visible()
    shown = await page.locator("#messages .msg-text").all_text_contents()
    assert [t for t in shown if t.startswith("burst")] == [
        text for _, text in sorted(zip((ack["id"] for ack in acks), burst, strict=True))
    ]
    assert await shown_ids(page) == sorted(set(await shown_ids(page)))
    if chatter.of("chat_batch"):  # the usual case: the first goes alone, the rest queue behind it
        assert await page.evaluate("() => window.__batches") >= 1

    token = await login(client, "chat_viewer", "viewer789")
    resp = await client.post(
        "/api/gift", json={"gift_id": "rocket", "amount": 3, "stream": "main"}, headers=auth(token)
    )
    assert resp.status == 200, await resp.text()
    badge = page.locator("#gift-lane .gift-badge")
    await expect(badge).to_be_visible()
    await expect(badge.locator(".gift-from")).to_have_text("chat_viewer")
    await expect(badge.locator(".gift-what")).to_have_text("sent Rocket")
    await expect(badge.locator(".gift-amount")).to_have_text("×3")
    await expect(page.locator("#messages .note-gift")).to_contain_text("chat_viewer sent 3 × Rocket")
    await expect(page.locator("#viewer-count")).to_have_text("2")  # presence: the Python client counts too
    await screenshot(page, "viewer-chat-mobile.png")


async def test_stream_kick_shows_a_notice_and_leaves_the_stream(client: TestClient, open_page: PageFactory) -> None:
    page = await viewer(open_page, client, "demo_user", "demo123")
    token = await login(client, "test_streamer", "test456")
    resp = await client.post("/api/admin/kick", json={"username": "demo_user", "stream": "main"}, headers=auth(token))
    assert resp.status == 200, await resp.text()
    notice = page.locator("#notice")
    await expect(notice).to_be_visible()
    await expect(notice.get_by_role("heading")).to_have_text("You were removed from the chat")
    await expect(notice).to_contain_text("kicked by a moderator")
    await expect(page.locator("#composer-input")).to_be_disabled()
    await expect(page.locator("#conn-banner")).to_be_hidden()  # a kick is final: no "reconnecting" promise
    # A stream kick takes the page out of this stream only; the socket stays up for other streams.
    assert await page.evaluate("() => window.SafeStreamChat.socket.connected")
    await screenshot(page, "viewer-kicked.png")
    await notice.get_by_role("button", name="Browse live streams").click()
    await expect(page.locator(".stream-card[data-stream=main]")).to_be_visible()


async def test_user_text_is_rendered_as_text(client: TestClient, open_page: PageFactory) -> None:
    title = "<img src=x onerror=window.__xss=1>"
    token = await login(client, "test_streamer", "test456")
    resp = await client.post("/api/streams", json={"stream": "xss", "title": title}, headers=auth(token))
    assert resp.status == 201, await resp.text()

    page = await open_page()
    await page.goto(url(client, "/chat"))
    await log_in(page, "demo_user", "demo123")
    card = page.locator(".stream-card[data-stream=xss]")
    await expect(card.locator(".card-title")).to_have_text(title)
    await card.click()
    await expect(page.locator("#room-title")).to_have_text(title)
    await expect(page.locator("#composer-input")).to_be_enabled()

    payloads = [
        '<img src=x onerror="window.__xss=1">',
        "<script>window.__xss=1</script>",
        "<b>bold?</b> &amp; <a href=javascript:window.__xss=1>link</a>",
    ]
    for text in payloads:
        await send(page, text)
        await expect(message(page, text)).to_be_visible()
    assert await page.locator("#messages :is(img, script, a, b), #room-title *, #stage-title *").count() == 0
    assert await page.evaluate("() => window.__xss") is None
    assert await page.evaluate("() => document.title") == f"{title} · SafeStream"


async def test_reconnect_fills_the_gap_in_order_without_duplicates(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    page = await viewer(open_page, client, "demo_user", "demo123")
    chatter = await sio_client("chat_viewer", "viewer789", join="main")
    for i in range(3):
        assert (await chatter.call("chat", {"message": f"before {i}"}))["ok"]
    await expect(message(page, "before 2")).to_be_visible()

    # Drop the connection and keep it down (offline) while the room goes on without us.
    await page.context.set_offline(True)
    await page.evaluate("() => window.SafeStreamChat.socket.io.engine.close()")
    await expect(page.locator("#conn-banner")).to_be_visible()
    await expect(page.locator("#composer-input")).to_be_disabled()
    missed = [f"while away {i}" for i in range(5)]
    for text in missed:
        assert (await chatter.call("chat", {"message": text}))["ok"]
    await expect(message(page, missed[0])).to_have_count(0)

    await page.context.set_offline(False)
    for text in missed:
        await expect(message(page, text)).to_be_visible(timeout=15000)  # reconnection backs off up to 4 s
    await expect(page.locator("#conn-banner")).to_be_hidden()
    await expect(page.locator(".toast-success")).to_contain_text("5 missed messages loaded")
    assert (await chatter.call("chat", {"message": "after"}))["ok"]
    await expect(message(page, "after")).to_be_visible()

    ids = await shown_ids(page)
    assert ids == sorted(set(ids)), ids  # ordered by id, no duplicates
    texts = await page.locator("#messages .msg-text").all_text_contents()
    assert texts == [f"before {i}" for i in range(3)] + missed + ["after"]


async def test_removed_messages_vanish_and_stream_end_shows_a_notice(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    page = await viewer(open_page, client, "chat_viewer", "viewer789")
    chatter = await sio_client("demo_user", "demo123", join="main")
    doomed = await chatter.call("chat", {"message": "buy followers at spam.example"})
    assert (await chatter.call("chat", {"message": "nice stream"}))["ok"]
    await expect(message(page, "nice stream")).to_be_visible()
    await expect(message(page, "buy followers at spam.example")).to_be_visible()
    token = await login(client, "test_streamer", "test456")
    resp = await client.post("/api/admin/remove", json={"stream": "main", "ids": [doomed["id"]]}, headers=auth(token))
    assert resp.status == 200, await resp.text()
    await expect(message(page, "buy followers at spam.example")).to_have_count(0)
    await expect(message(page, "nice stream")).to_be_visible()

    resp = await client.post("/api/streams/main/end", headers=auth(token))
    assert resp.status == 200, await resp.text()
    notice = page.locator("#notice")
    await expect(notice.get_by_role("heading")).to_have_text("Stream ended")
    await expect(page.locator("#live-badge")).to_have_text("ENDED")
    await expect(page.locator("#composer-input")).to_be_disabled()
    await expect(page.locator("#composer-input")).to_have_attribute("placeholder", "This stream has ended")
    await screenshot(page, "viewer-ended.png")


async def test_register_remember_me_and_log_out(client: TestClient, open_page: PageFactory) -> None:
    page = await open_page(MOBILE)
    await page.goto(url(client, "/chat"))
    await page.get_by_role("tab", name="Sign up").click()
    form = page.locator("#register-form")
    await form.locator("input[name=username]").fill("new viewer")
    await form.locator("input[name=password]").fill("pw")
    await form.get_by_role("button", name="Create account").click()
    await expect(form.locator(".field-error[data-field=username]")).to_be_visible()
    await expect(form.locator(".field-error[data-field=password]")).to_have_text("Use at least 6 characters.")
    await form.locator("input[name=username]").fill("new_viewer")
    await form.locator("input[name=password]").fill("secret-pw")
    await form.locator("input[name=remember]").check()
    await screenshot(page, "viewer-register-mobile.png")
    await form.get_by_role("button", name="Create account").click()
    await expect(page.locator(".stream-card[data-stream=main]")).to_be_visible()
    await screenshot(page, "viewer-picker-mobile.png")
    assert await page.evaluate("() => localStorage.getItem('safestream.session') !== null")

    await page.reload()  # remembered: straight back in
    await expect(page.locator("#me-avatar")).to_have_text("N")
    await page.locator("#logout").click()
    await expect(page.get_by_role("heading", name="Join the chat")).to_be_visible()
    assert await page.evaluate("() => localStorage.getItem('safestream.session')") is None


async def test_pages_are_served_with_the_csp(client: TestClient) -> None:
    resp = await client.get("/chat/main")
    body = await resp.text()
    assert resp.status == 200 and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert 'data-stream="main"' in body
    assert "<script>" not in body and not re.search(r"\son[a-z]+=", body)  # no inline script or handler
    assert (await client.get("/chat/%3Cscript%3E")).status == 422
    root = await client.get("/", allow_redirects=False)
    assert root.status == 302 and root.headers["Location"] == "/chat"


async def test_auto_scroll_pauses_while_reading_back_and_the_counter_counts_characters(
    make_app: Any, open_page: PageFactory, sio_client: ClientFactory
) -> None:
    client = await make_app(rate_limit_per_user=1000)
    page = await viewer(open_page, client, "demo_user", "demo123")
    chatter = await sio_client("chat_viewer", "viewer789", join="main", test_client=client)
    for i in range(40):
        assert (await chatter.call("chat", {"message": f"line {i}"}))["ok"]
    await expect(message(page, "line 39")).to_be_in_viewport()  # following the chat

    # Scrolled up to read: new messages must not yank the view down; a pill offers the way back.
    await page.locator("#scroller").evaluate("box => { box.scrollTo(0, 0); box.dispatchEvent(new Event('scroll')); }")
    assert (await chatter.call("chat", {"message": "while you were reading"}))["ok"]
    pill = page.locator("#new-pill")
    await expect(pill).to_have_text("1 new message ↓")
    await expect(message(page, "line 0")).to_be_in_viewport()
    await expect(message(page, "while you were reading")).not_to_be_in_viewport()
    await pill.click()
    await expect(message(page, "while you were reading")).to_be_in_viewport()
    await expect(pill).to_be_hidden()

    composer = page.locator("#composer-input")
    await composer.fill("x" * 501)
    await expect(page.locator("#counter")).to_have_text("501/500")
    await expect(page.locator("#counter")).to_have_class(re.compile(r"\bis-over\b"))
    await expect(page.locator("#send")).to_be_disabled()
    await composer.fill("\U0001f389" * 500)  # 500 characters (1000 UTF-16 units): the server's count
    await expect(page.locator("#counter")).to_have_text("500/500")
    await expect(page.locator("#send")).to_be_enabled()
