"""Hostile input, abuse limits and slow consumers, against the real app."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from safestream.app_keys import CONNECTIONS_KEY, WATCHDOG_KEY
from tests.conftest import AppFactory, ClientFactory, login, refusal


async def test_login_is_throttled_per_account_and_per_address(make_app: AppFactory) -> None:
    app = await make_app(login_failures_per_account=3, login_attempts_per_ip=8)
    for _ in range(3):
        bad = await app.post("/auth/login", data={"username": "demo_user", "password": "wrong"})
        assert bad.status == 401
    locked = await app.post("/auth/login", data={"username": "demo_user", "password": "demo123"})
    assert locked.status == 429 and locked.headers["Retry-After"]
    assert (await locked.json())["error"]["code"] == "rate_limited"
    # A made-up account is throttled the same way: refusals do not reveal which accounts exist.
    for _ in range(3):
        await app.post("/auth/login", data={"username": "ghost", "password": "wrong"})
    assert (await app.post("/auth/login", data={"username": "ghost", "password": "x"})).status == 429
    ok = await app.post("/auth/login", data={"username": "chat_viewer", "password": "viewer789"})
    assert ok.status == 429  # the address has used its 8 attempts a minute


async def test_registration_is_throttled_per_address(make_app: AppFactory) -> None:
    app = await make_app(registrations_per_ip=2)
    for name in ("reg_one", "reg_two"):
        assert (await app.post("/auth/register", json={"username": name, "password": "secret-1"})).status == 201
    third = await app.post("/auth/register", json={"username": "reg_three", "password": "secret-1"})
    assert third.status == 429


async def test_socket_limits_per_user_and_per_address(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(max_sockets_per_user=2, max_connections_per_ip=3)
    token = await login(app, "demo_user", "demo123")
    for _ in range(2):
        await sio_client(token=token, test_client=app)
    assert await refusal(app, {"token": token}) == {"message": "too_many_connections"}
    await sio_client("chat_viewer", "viewer789", test_client=app)
    other = await login(app, "demo_admin", "admin123")
    assert await refusal(app, {"token": other}) == {"message": "too_many_connections"}


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{", {"Content-Type": "application/json"}, 400, "invalid_json"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 422, "invalid_payload"),
        (b'"string"', {"Content-Type": "application/json"}, 422, "invalid_payload"),
        (b"null", {"Content-Type": "application/json"}, 422, "invalid_payload"),
        (
            b'{"username": 5, "password": ["x"], "extra": true}',
            {"Content-Type": "application/json"},
            422,
            "invalid_payload",
        ),
        (b"\xff\xfe\x00garbage", {"Content-Type": "application/json"}, 400, "invalid_json"),
        (b"x" * (300 * 1024), {"Content-Type": "application/json"}, 413, "too_large"),
    ],
)
async def test_hostile_http_bodies_get_typed_json_errors(
    client: TestClient, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    resp = await client.post("/auth/register", data=body, headers=headers)
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code
    assert (await client.get("/healthz")).status == 200


async def test_control_characters_and_invalid_unicode_are_cleaned(sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    bob = await sio_client("chat_viewer", "viewer789", join="main")
    ack = await alice.call("chat", {"message": "hi\x00\x07 there\ud800\u202e!"})
    assert ack["ok"]
    msg = (await bob.wait_for(lambda: bob.chats()))[0]
    assert msg["message"] == "hi there!"  # bidi controls go too: what is shown is what was scored
    assert (await alice.call("chat", {"message": "\x00\x01\x02"}))["error"]["code"] == "empty"


async def test_an_oversize_frame_drops_only_that_client(client: TestClient, sio_client: ClientFactory) -> None:
    token = await login(client, "demo_user", "demo123")
    bystander = await sio_client("chat_viewer", "viewer789", join="main")
    url = str(client.make_url("/socket.io/?EIO=4&transport=websocket"))
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive()  # the open packet
        await ws.send_str("40" + json.dumps({"token": token}))
        await ws.receive()
        await ws.send_str('42["chat",{"message":"' + "x" * (200 * 1024) + '"}]')
        closed = await ws.receive(timeout=5)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert (await bystander.call("chat", {"message": "still here"}))["ok"]


@pytest.mark.parametrize("fanout", ["direct", "queue", "socketio"])
async def test_a_stalled_viewer_is_dropped_and_does_not_delay_others(
    make_app: AppFactory, sio_client: ClientFactory, fanout: str
) -> None:
    # No flush window: one frame per moderation batch, as before the window existed. The
    # bound counts frames, and the window only makes them fewer and bigger.
    app = await make_app(
        max_socket_queue=20, rate_limit_per_user=100000, max_message_length=4000, fanout=fanout, chat_flush_window_ms=0
    )
    token = await login(app, "chat_viewer", "viewer789")
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    healthy = await sio_client("demo_admin", "admin123", join="main", test_client=app)
    url = str(app.make_url("/socket.io/?EIO=4&transport=websocket"))
    async with aiohttp.ClientSession() as http, http.ws_connect(url, autoping=False) as stalled:
        await stalled.receive()
        await stalled.send_str("40" + json.dumps({"token": token}))
        await stalled.receive()
        await stalled.send_str('420["join",{"stream":"main"}]')
        await stalled.receive()
        # From here on the stalled client reads nothing; its TCP buffers fill, then its queue.
        watchdog, connections = app.app[WATCHDOG_KEY], app.app[CONNECTIONS_KEY]
        text = "y" * 3900
        deadline = time.monotonic() + 30
        latencies = []
        while watchdog.dropped == 0 and time.monotonic() < deadline:
            await asyncio.gather(*(sender.call("chat", {"message": text}) for _ in range(20)))
            started = time.monotonic()
            await healthy.call("chat", {"message": "ping"})
            latencies.append(time.monotonic() - started)
        assert watchdog.dropped >= 1
        assert len(connections) == 2  # the sender and the healthy viewer remain
        assert max(latencies) < 2.0


async def test_tokens_of_banned_users_are_refused(client: TestClient) -> None:
    viewer = await login(client, "chat_viewer", "viewer789")
    admin = await login(client, "demo_admin", "admin123")
    resp = await client.post(
        "/api/admin/ban",
        json={"username": "chat_viewer", "reason": "spam"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert resp.status == 200
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {viewer}"})
    assert me.status == 403 and (await me.json())["error"]["code"] == "banned"
    assert await refusal(client, {"token": viewer}) == {"message": "banned"}


async def test_malformed_form_bodies_are_400(client: TestClient) -> None:
    for path in ("/auth/login", "/console/login"):
        resp = await client.post(path, data=b"abc", headers={"Content-Type": "multipart/form-data"})
        assert resp.status in (400, 403), (path, resp.status)
        assert resp.status != 500
