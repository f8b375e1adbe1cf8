"""The moderator console in a real browser, against the real app: what a moderator sees.

Chromium drives the console (log in, click, type) and the assertions are on the
screen; python-socketio clients, REST calls and viewer pages play everyone else
(chatters, the streamer, the viewer being kicked).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from typing import Any

from aiohttp.test_utils import TestClient

from tests.browser import MOBILE, Locator, Page, PageFactory, ViewportSize, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.conftest import ClientFactory, Recorder, auth, login
from tests.test_viewer_browser import INSULT, set_policy, url, viewer

WIDE: ViewportSize = {"width": 1440, "height": 900}
HOLD_TOXIC = {"levels": [{"category": "*", "threshold": 0.5, "action": "hold"}]}
HOLD_ALL = {"levels": [{"category": "*", "threshold": 0.0, "action": "hold"}]}
XSS = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=1</script>"]


async def console(
    open_page: PageFactory,
    client: TestClient,
    username: str = "demo_admin",
    password: str = "admin123",
    viewport: ViewportSize | None = None,
) -> Page:
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
        has=page.locator(".said", has_text=re.compile("^" + re.escape(text) + "$"))
    )


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


async def test_log_in_and_watch_the_feed_live(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    page = await open_page()
    await page.goto(url(client, "/console/login"))
    await expect(page.get_by_role("heading", name="Moderator console")).to_be_visible()
    await page.get_by_label("Username").fill("demo_user")  # a viewer: the console is not for them
    await page.get_by_label("Password").fill("demo123")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password, or not a moderator.")
    await screenshot(page, "console-login.png")

    page = await console(open_page, client)
    await expect(page.locator(".whoami")).to_contain_text("demo_admin")
    await page.evaluate("() => { window.__sameDocument = true; }")  # gone if anything reloads the page
    chatter = await sio_client("chat_viewer", "viewer789", join="main")
    ack = await chat(chatter, "hello moderators, long time no see")
    row = page.locator(f"#msg-{ack['id']}")
    await expect(row.locator(".said")).to_have_text("hello moderators, long time no see")
    await expect(row.locator("td.user")).to_have_text("chat_viewer")
    await expect(row.locator(".badge")).to_have_text("allow")
    await expect(page.locator("#feed-count")).to_have_text("1 stored")
    # The metrics follow on the 2 s refresh push: one viewer (the chatter), one message.
    await expect(page.locator("#metrics .metric", has_text="Viewers").locator("b")).to_have_text("1")
    await expect(page.locator("#metrics .metric", has_text="Messages").locator("b")).to_have_text("1")
    assert await page.evaluate("() => window.__sameDocument") is True

    # Remove it for everyone: htmx asks first (a native confirm), the row stays, struck through.
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.get_by_role("button", name="remove").click()
    await expect(toast(page, f"Removed message {ack['id']}.")).to_be_visible()
    await expect(row).to_have_class(re.compile(r"\bremoved\b"))
    await expect(row.get_by_role("button", name="remove")).to_have_count(0)
    removed = await chatter.wait_for(lambda: chatter.of("message_removed"))
    assert removed[0]["ids"] == [ack["id"]]
    assert await page.evaluate("() => window.__sameDocument") is True


async def test_held_message_is_approved_from_the_review_queue(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    await set_policy(client, HOLD_TOXIC)
    page = await console(open_page, client)
    await expect(page.locator(".review-card .empty-note")).to_be_visible()
    sender = await sio_client("demo_user", "demo123", join="main")
    watcher = await sio_client("chat_viewer", "viewer789", join="main")
    ack = await chat(sender, INSULT)
    assert ack["action"] == "hold"

    item = page.locator(f"#review-{ack['id']}")
    await expect(item.locator(".review-text")).to_have_text(INSULT)  # live, no reload
    await expect(item.locator(".review-head")).to_contain_text("demo_user")
    await expect(page.locator("#review-count")).to_have_text("1")
    await expect(page.locator(".review-card .empty-note")).to_be_hidden()
    await expect(feed_row(page, INSULT).locator(".badge")).to_have_text("hold")
    assert not [m for m in watcher.chats() if m["message"] == INSULT]  # held: nobody saw it

    await item.get_by_role("button", name="Approve", exact=True).click()
    await expect(toast(page, f"Approved message {ack['id']}.")).to_be_visible()
    await expect(item).to_have_count(0)
    await expect(page.locator("#review-count")).to_have_text("0")
    # The feed row says who decided what, and when.
    await expect(page.locator(f"#msg-{ack['id']} .review-state")).to_have_text(
        re.compile(r"^approved by demo_admin · \d\d:\d\d:\d\d$")
    )
    await expect(page.locator(f"#msg-{ack['id']} .badge")).to_have_text("flag")  # now published, flagged
    published = (await watcher.wait_for(lambda: [m for m in watcher.chats() if m["message"] == INSULT]))[0]
    assert published["user"] == "demo_user" and published["id"] == ack["id"]  # under its original id
    await expect(page.locator("#audit-rows li").first).to_contain_text("demo_admin review approve demo_user")


async def test_user_text_is_rendered_as_text(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    await set_policy(client, HOLD_ALL)  # everything held: the payloads reach the review queue too
    page = await console(open_page, client)
    sender = await sio_client("demo_user", "demo123", join="main")
    acks = [await chat(sender, text) for text in XSS]
    for ack, text in zip(acks, XSS, strict=True):
        await expect(feed_row(page, text)).to_have_count(1)
        await expect(page.locator(f"#review-{ack['id']} .review-text")).to_have_text(text)

    await user_action(page, "kick", "chat_viewer", reason="<b>bold</b>")
    await expect(toast(page, "Kicked chat_viewer")).to_be_visible()
    entry = page.locator("#audit-rows li").first
    await expect(entry.locator(".reason")).to_have_text("<b>bold</b>")

    await page.reload()  # the server-rendered page (not only the live fragments) escapes them too
    await expect(page.locator("#live-state")).to_have_text("live")
    for text in XSS:
        await expect(feed_row(page, text)).to_have_count(1)
        await expect(page.locator(".review-text", has_text=text)).to_have_count(1)
    await expect(page.locator("#audit-rows .reason").first).to_have_text("<b>bold</b>")
    injected = "#feed-rows :is(img, script), #review-rows :is(img, script), #audit-rows .reason *"
    assert await page.locator(injected).count() == 0
    assert await page.evaluate("() => window.__xss") is None


async def test_actions_without_the_csrf_token_are_refused(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    page = await console(open_page, client)
    target = await sio_client("chat_viewer", "viewer789", join="main")
    # The session cookie goes with a same-origin fetch; without the page's token that is not enough.
    refused = await page.evaluate("""async () => {
        const resp = await fetch('/console/s/main/users/mute', {method: 'POST', credentials: 'same-origin',
                                  body: new URLSearchParams({username: 'chat_viewer'})});
        return [resp.status, (await resp.json()).error.code];
    }""")
    assert refused == [403, "csrf"]
    assert not target.of("muted")

    await user_action(page, "mute", "chat_viewer", reason="calm down", duration="60")
    await expect(toast(page, "Muted chat_viewer for 60 s.")).to_be_visible()
    muted = await target.wait_for(lambda: target.of("muted"))
    assert muted[0]["reason"] == "calm down"
    await expect(page.locator("#audit-rows li").first).to_contain_text("mute chat_viewer")


async def test_kick_removes_a_viewer_page_from_the_stream(client: TestClient, open_page: PageFactory) -> None:
    watched = await viewer(open_page, client, "demo_user", "demo123")
    await watched.locator("#composer-input").fill("spam spam spam")
    await watched.locator("#composer-input").press("Enter")
    page = await console(open_page, client)
    # The message is in the history the dashboard renders; clicking its author picks them.
    await feed_row(page, "spam spam spam").locator(".pick-user").click()
    await expect(page.locator("#ua-username")).to_have_value("demo_user")
    await expect(page.locator("#ua-username")).to_be_focused()
    await page.locator("#user-actions").get_by_label("Reason").fill("cool off for a bit")
    await page.locator("#user-actions").get_by_role("button", name="kick", exact=True).click()
    await expect(toast(page, "Kicked demo_user (1 connection(s)).")).to_be_visible()

    notice = watched.locator("#notice")
    await expect(notice.get_by_role("heading")).to_have_text("You were removed from the chat")
    await expect(notice).to_contain_text("cool off for a bit")
    # A stream kick takes the page out of this stream only: the socket stays up for other streams.
    await expect(watched.locator("#composer-input")).to_be_disabled()
    assert await watched.evaluate("() => window.SafeStreamChat.socket.connected")


async def test_policy_editor_saves_the_policy(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    page = await console(open_page, client)
    policy = page.locator("#policy")
    await expect(policy.get_by_role("heading")).to_contain_text("server default")
    for category in ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"):
        await policy.locator(f"select[name='action[{category}]']").select_option("none")  # only "any" acts
    await policy.locator("input[name='threshold[*]']").fill("0.35")
    await policy.locator("select[name='action[*]']").select_option("mask")
    await policy.get_by_role("button", name="Save policy").click()
    await expect(policy.locator(".saved")).to_have_text("Saved.")
    await expect(policy.get_by_role("heading")).not_to_contain_text("server default")
    await expect(policy.locator("input[name='threshold[*]']")).to_have_value("0.35")
    await expect(policy.locator("select[name='action[*]']")).to_have_value("mask")
    await expect(page.locator("#audit-rows li").first).to_contain_text("demo_admin policy update")

    token = await login(client, "test_streamer", "test456")
    stored = await (await client.get("/api/streams/main/policy", headers=auth(token))).json()
    assert stored["custom"] is True
    assert stored["levels"] == [{"category": "*", "threshold": 0.35, "action": "mask"}]
    sender = await sio_client("demo_user", "demo123", join="main")
    assert (await chat(sender, INSULT))["action"] == "mask"  # and the chat obeys it


async def test_feed_filters(client: TestClient, open_page: PageFactory, sio_client: ClientFactory) -> None:
    page = await console(open_page, client)
    sender = await sio_client("demo_user", "demo123", join="main")
    for text in ("nice goal", INSULT, "what a save", "saved by the keeper"):
        await chat(sender, text)
    said = page.locator("#feed-rows .said")
    await expect(said).to_have_text(["saved by the keeper", "what a save", INSULT, "nice goal"])  # newest first

    search = page.locator("#feed-q")
    async with page.expect_response(lambda r: "/console/s/main/feed?" in r.url and "q=save" in r.url) as searched:
        await search.press_sequentially("save", delay=40)  # typed: debounced into one request
    assert (await searched.value).ok
    await expect(said).to_have_text(["saved by the keeper", "what a save"])
    await expect(page.locator("#feed-count")).to_have_text("2 matching")
    await expect(search).to_be_focused()  # the form is not swapped: typing goes on undisturbed
    await expect(search).to_have_value("save")

    # A filtered view does not take live rows; it says there are new ones instead.
    await chat(sender, "a message while filtering")
    await expect(page.locator("#feed-new")).to_be_visible()
    await expect(said).to_have_count(2)

    await search.fill("")
    await expect(said).to_have_count(5)
    await expect(page.locator("#feed-new")).to_be_hidden()
    await page.get_by_label("toxic only").check()
    await expect(said).to_have_text([INSULT])
    await expect(feed_row(page, INSULT)).to_have_class(re.compile(r"\btoxic\b"))
    await page.get_by_label("toxic only").uncheck()
    await expect(said).to_have_count(5)
    await chat(sender, "live again")  # unfiltered: live rows come back
    await expect(said.first).to_have_text("live again")


CHATTERS = {
    "lisbon_luis": "luis-pass-1",
    "pixel_pia": "pia-pass-1",
    "nightowl_99": "owl-pass-1",
    "gg_gabe": "gabe-pass-1",
}
SCRIPT = [  # (who, message): a few minutes of a real chat, toxic ones included
    ("lisbon_luis", "anyone else watching from Lisbon?"),
    ("pixel_pia", "first time catching this live!"),
    ("chat_viewer", "the audio is so much better today"),
    ("gg_gabe", "that play at 12:40 was insane"),
    ("nightowl_99", "what a loser lol"),  # flagged
    ("demo_user", "who's the guest tonight?"),
    ("nightowl_99", "kill yourself"),  # listed term: masked
    ("pixel_pia", "lol the cat walked across the keyboard again"),
    ("gg_gabe", INSULT),  # held
    ("lisbon_luis", "damn that was close"),  # flagged
    ("nightowl_99", "you stupid moron"),  # held
    ("chat_viewer", "gg, that was close"),
    ("demo_user", "please do a Q&A at the end, would love to ask about the setup"),
    ("pixel_pia", "https://example.com/clip — clip of the save, 10/10"),
]
GIFTS = [
    ("pixel_pia", "rose", 40),
    ("gg_gabe", "rocket", 8),
    ("lisbon_luis", "heart", 30),
    ("chat_viewer", "star", 15),
    ("pixel_pia", "lion", 5),
    ("a_very_long_username_that_goes_on", "rose", 12),
]


def backfill_timeline(client: TestClient, stream: str = "main") -> int:
    """Ten minutes of earlier activity in the charts' timeline, so the screenshot shows a stream
    that has been running rather than one that started a second ago (the 10 s buckets fill up
    only as time passes). Returns how many messages it added to the counters."""
    from safestream.app_keys import METRICS_KEY
    from safestream.chat.metrics import BUCKET_SECS, TIMELINE_BUCKETS

    metrics = client.app[METRICS_KEY]
    now = int(time.time()) // BUCKET_SECS * BUCKET_SECS
    added = 0
    for age in range(TIMELINE_BUCKETS - 1, 1, -1):  # the last two buckets are left to the real messages
        messages = 6 + int(5 * (1 + math.sin(age / 4))) + (age * 7) % 5
        toxic = 1 if age % 5 == 0 else 0
        toxic += 3 if 18 <= age <= 21 else 0  # a raid a few minutes ago
        metrics.timeline[stream].append([now - age * BUCKET_SECS, messages, toxic])
        metrics.messages[stream] += messages
        metrics.toxic[stream] += toxic
        added += messages
    return added


async def test_screenshots_of_a_busy_stream(
    client: TestClient,
    open_page: PageFactory,
    sio_client: ClientFactory,
) -> None:
    await set_policy(
        client,
        {
            "levels": [
                {"category": "*", "threshold": 0.7, "action": "flag"},
                {"category": "insult", "threshold": 0.97, "action": "hold"},
            ],
            "default_terms": True,
            "term_action": "mask",
        },
    )
    earlier = backfill_timeline(client)
    for name, password in CHATTERS.items():
        resp = await client.post("/auth/register", json={"username": name, "password": password})
        assert resp.status == 201, await resp.text()
    page = await console(open_page, client, viewport=WIDE)
    people = {
        name: await sio_client(name, password, join="main")
        for name, password in {**CHATTERS, "demo_user": "demo123", "chat_viewer": "viewer789"}.items()
    }
    acks = [await chat(people[who], text) for who, text in SCRIPT]
    held = [ack for ack in acks if ack["action"] == "hold"]
    assert {ack["action"] for ack in acks} == {"allow", "flag", "mask", "hold"}, acks
    admin = await login(client, "demo_admin", "admin123")
    for sender, gift, amount in GIFTS:
        resp = await client.post(
            "/api/gift", json={"from": sender, "gift_id": gift, "amount": amount, "stream": "main"}, headers=auth(admin)
        )
        assert resp.status == 200, await resp.text()

    await user_action(page, "mute", "nightowl_99", reason="third warning today", duration="600")
    await expect(toast(page, "Muted nightowl_99")).to_be_visible()
    await page.locator(f"#review-{held[0]['id']}").get_by_role("button", name="Deny").click()
    await expect(page.locator(f"#review-{held[0]['id']}")).to_have_count(0)

    # The charts and metrics arrive with the 2 s refresh push.
    await expect(page.locator("#metrics .metric", has_text="Messages").locator("b")).to_have_text(
        str(earlier + len(SCRIPT))
    )
    await expect(page.locator("#charts .gifters li")).to_have_count(5)
    await expect(page.locator("#review-rows .review-item")).to_have_count(len(held) - 1)
    await expect(page.locator("#feed-rows tr.msg")).to_have_count(len(SCRIPT))
    await screenshot(page, "console-desktop.png")

    narrow = await console(open_page, client, viewport=MOBILE)
    await expect(narrow.locator("#charts .gifters li")).to_have_count(5)
    await expect(narrow.locator("#feed-rows tr.msg")).to_have_count(len(SCRIPT))
    # Nothing sticks out sideways on a phone: the page is exactly as wide as the screen.
    assert await narrow.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
    await screenshot(narrow, "console-mobile.png")
