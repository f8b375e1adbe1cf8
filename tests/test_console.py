"""The moderator console over HTTP and Socket.IO: cookie login, CSRF, fragments, live pushes."""

from __future__ import annotations

import re
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from safestream.console import live
from safestream.console.session import SESSION_COOKIE
from tests.conftest import ClientFactory, Recorder, auth, login

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def console_login(client: TestClient, username: str = "demo_admin", password: str = "admin123") -> str:
    """Logs the test client's cookie jar in; returns the page's CSRF token."""
    page = await client.get("/console/login")
    login_csrf = CSRF_RE.search(await page.text()).group(1)  # type: ignore[union-attr]
    resp = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": login_csrf},
        allow_redirects=False,
    )
    assert resp.status == 302, await resp.text()
    cookie = resp.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    dash = await client.get("/console/s/main")
    assert dash.status == 200
    return CSRF_RE.search(await dash.text()).group(1)  # type: ignore[union-attr]


OPEN: list[Recorder] = []


@pytest.fixture(autouse=True)
async def _close_console_sockets(client: TestClient) -> Any:
    yield
    while OPEN:
        rec = OPEN.pop()
        if rec.sio.connected:
            await rec.sio.disconnect()


async def console_socket(client: TestClient, stream: str = "main") -> Recorder:
    rec = Recorder()
    OPEN.append(rec)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    await rec.sio.connect(
        str(client.make_url("/")), headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, transports=["websocket"]
    )
    assert (await rec.call("console_join", {"stream": stream}))["ok"]
    return rec


async def test_login_page_and_dashboard(client: TestClient) -> None:
    assert (await client.get("/console", allow_redirects=False)).headers["Location"] == "/console/login"
    await console_login(client)
    page = await (await client.get("/console/s/main")).text()
    for panel in ('id="metrics"', 'id="charts"', 'id="feed"', 'id="review-rows"', 'id="policy"', 'id="audit-rows"'):
        assert panel in page


async def test_viewers_cannot_use_the_console(client: TestClient) -> None:
    page = await client.get("/console/login")
    token = CSRF_RE.search(await page.text()).group(1)  # type: ignore[union-attr]
    resp = await client.post(
        "/console/login", data={"username": "demo_user", "password": "demo123", "csrf_token": token}
    )
    assert resp.status == 401 and "not a moderator" in await resp.text()


async def test_login_without_csrf_is_refused(client: TestClient) -> None:
    resp = await client.post("/console/login", data={"username": "demo_admin", "password": "admin123"})
    assert resp.status == 403


async def test_actions_need_the_csrf_token(client: TestClient, sio_client: ClientFactory) -> None:
    csrf = await console_login(client)
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    refused = await client.post("/console/s/main/users/mute", data={"username": "chat_viewer"})
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "csrf"
    forged = await client.post(
        "/console/s/main/users/mute", data={"username": "chat_viewer"}, headers={"X-CSRF-Token": "0" * 64}
    )
    assert forged.status == 403
    ok = await client.post(
        "/console/s/main/users/mute",
        data={"username": "chat_viewer", "duration_s": "60", "reason": "calm down"},
        headers={"X-CSRF-Token": csrf},
    )
    assert ok.status == 200 and "Muted chat_viewer for 60 s" in await ok.text()
    assert (await viewer.wait_for(lambda: viewer.of("muted")))[0]["reason"] == "calm down"


async def test_live_feed_renders_once_per_stream(
    client: TestClient, sio_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[str] = []
    original = live.render_text

    def counting(app: Any, name: str, context: dict[str, Any]) -> str:
        renders.append(name)
        return original(app, name, context)

    monkeypatch.setattr(live, "render_text", counting)
    await console_login(client)
    mod_a, mod_b = await console_socket(client), await console_socket(client)
    sender = await sio_client("demo_user", "demo123", join="main")
    await sender.call("chat", {"message": "<img src=x onerror=alert(1)> hello"})
    for mod in (mod_a, mod_b):
        frags = await mod.wait_for(lambda m=mod: [f for f in m.of("console_fragment") if f["target"] == "#feed-rows"])
        assert "&lt;img src=x onerror=alert(1)&gt; hello" in frags[0]["html"]
        assert "<img" not in frags[0]["html"]
    assert renders.count("console/_feed_rows.html") == 1


async def test_held_message_reaches_the_review_queue_live(client: TestClient, sio_client: ClientFactory) -> None:
    csrf = await console_login(client, "test_streamer", "test456")
    mod = await console_socket(client)
    policy = {"levels": [{"category": "*", "threshold": 0.5, "action": "hold"}]}
    from tests.conftest import auth, login

    token = await login(client, "test_streamer", "test456")
    assert (await client.put("/api/streams/main/policy", json=policy, headers=auth(token))).status == 200
    sender = await sio_client("demo_user", "demo123", join="main")
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    ack = await sender.call("chat", {"message": "shut up you dumb idiot"})
    frag = (await mod.wait_for(lambda: [f for f in mod.of("console_fragment") if f["target"] == "#review-rows"]))[0]
    assert f'id="review-{ack["id"]}"' in frag["html"]
    resp = await client.post(
        f"/console/s/main/review/{ack['id']}", data={"decision": "approve"}, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status == 200 and "Approved" in await resp.text()
    assert (await viewer.wait_for(lambda: viewer.chats()))[0]["message"] == "shut up you dumb idiot"
    gone = await mod.wait_for(lambda: [f for f in mod.of("console_fragment") if f["swap"] == "delete"])
    assert gone[0]["target"] == f"#review-{ack['id']}"


async def test_feed_filters_and_policy_editor(client: TestClient, sio_client: ClientFactory) -> None:
    csrf = await console_login(client)
    sender = await sio_client("demo_user", "demo123", join="main")
    for text in ("nice goal", "shut up you dumb idiot", "what a save"):
        await sender.call("chat", {"message": text})
    toxic = await (await client.get("/console/s/main/feed?toxic=1")).text()
    assert "shut up you dumb idiot" in toxic and "nice goal" not in toxic
    search = await (await client.get("/console/s/main/feed?q=save")).text()
    assert "what a save" in search and "nice goal" not in search
    form = {
        "threshold[*]": "0.6",
        "action[*]": "hold",
        "blocked_terms": "spoiler*",
        "slow_mode_secs": "5",
        "term_action": "block",
        "failure_action": "hold",
        "default_terms": "on",
    }
    saved = await client.post("/console/s/main/policy", data=form, headers={"X-CSRF-Token": csrf})
    assert saved.status == 200 and "Saved." in await saved.text()
    bad = await client.post(
        "/console/s/main/policy", data={**form, "threshold[*]": "7"}, headers={"X-CSRF-Token": csrf}
    )
    assert bad.status == 422 and "levels.0.threshold" in await bad.text()
    assert (await sender.call("chat", {"message": "spoilers ahead"}))["action"] == "block"
    assert (await sender.call("chat", {"message": "one more"}))["error"]["code"] == "rate_limited"


async def test_console_socket_needs_a_moderator(client: TestClient) -> None:
    page = await client.get("/console/login")
    token = CSRF_RE.search(await page.text()).group(1)  # type: ignore[union-attr]
    await client.post("/console/login", data={"username": "demo_user", "password": "demo123", "csrf_token": token})
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(str(client.make_url("/")), transports=["websocket"])


async def test_streamer_console_hides_site_wide_actions_and_cannot_sanction_staff(client: TestClient) -> None:
    admin = await login(client, "demo_admin", "admin123")
    await client.post(
        "/api/admin/mute", json={"username": "demo_user", "reason": "site-wide secret"}, headers=auth(admin)
    )
    await client.post(
        "/api/admin/mute",
        json={"username": "chat_viewer", "stream": "main", "reason": "stream-level note"},
        headers=auth(admin),
    )
    csrf = await console_login(client, "test_streamer", "test456")
    page = await (await client.get("/console/s/main")).text()
    assert "stream-level note" in page and "site-wide secret" not in page
    refused = await client.post(
        "/console/s/main/users/ban", data={"username": "demo_admin"}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "target_outranks"
    staff = await (await client.get("/console/s/main")).text()
    assert "site-wide secret" not in staff
    client.session.cookie_jar.clear()
    await console_login(client)  # an admin's console shows both
    page = await (await client.get("/console/s/main")).text()
    assert "stream-level note" in page and "site-wide secret" in page
