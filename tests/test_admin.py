"""Admin REST: role checks on every route, kick, mute, reset_metrics, audit records."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import select

from safestream.app_keys import SESSIONS_KEY
from safestream.storage.models import AdminAction, Sanction
from tests.conftest import ClientFactory, auth, login

ADMIN_ROUTES = [
    ("/api/admin/kick", {"username": "chat_viewer"}),
    ("/api/admin/mute", {"username": "chat_viewer"}),
    ("/api/admin/reset_metrics", {}),
]


@pytest.mark.parametrize(("path", "body"), ADMIN_ROUTES)
async def test_admin_routes_need_a_token(client: TestClient, path: str, body: dict[str, str]) -> None:
    resp = await client.post(path, json=body)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(("path", "body"), ADMIN_ROUTES)
async def test_admin_routes_refuse_a_viewer(client: TestClient, path: str, body: dict[str, str]) -> None:
    token = await login(client, "demo_user", "demo123")
    resp = await client.post(path, json=body, headers=auth(token))
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"


async def test_streamer_moderates_own_stream_only(client: TestClient) -> None:
    streamer = await login(client, "test_streamer", "test456")
    own = await client.post(
        "/api/admin/mute", json={"username": "chat_viewer", "stream": "main"}, headers=auth(streamer)
    )
    assert own.status == 200
    sitewide = await client.post("/api/admin/mute", json={"username": "chat_viewer"}, headers=auth(streamer))
    assert sitewide.status == 403
    reset = await client.post("/api/admin/reset_metrics", json={}, headers=auth(streamer))
    assert reset.status == 403


async def test_kick_sends_kicked_then_disconnects(client: TestClient, sio_client: ClientFactory) -> None:
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    bystander = await sio_client("demo_user", "demo123", join="main")
    admin = await login(client, "demo_admin", "admin123")
    resp = await client.post("/api/admin/kick", json={"username": "chat_viewer", "reason": "spam"}, headers=auth(admin))
    assert resp.status == 200 and (await resp.json())["disconnected"] == 1  # site-wide: the socket goes
    await viewer.wait_for(lambda: viewer.disconnected.is_set() or None, timeout=5)
    assert viewer.of("kicked") == [{"stream": None, "reason": "spam"}]
    assert bystander.sio.connected and bystander.of("kicked") == []


async def test_mute_refuses_chat_until_it_ends(client: TestClient, sio_client: ClientFactory) -> None:
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    admin = await login(client, "demo_admin", "admin123")
    resp = await client.post(
        "/api/admin/mute", json={"username": "chat_viewer", "duration_s": 120}, headers=auth(admin)
    )
    assert resp.status == 200
    until = (await resp.json())["until"]
    notice = (await viewer.wait_for(lambda: viewer.of("muted")))[0]
    assert notice["until"] == until
    ack = await viewer.call("chat", {"message": "can I talk?"})
    assert ack["ok"] is False and ack["error"]["code"] == "muted" and ack["error"]["until"] == until
    async with client.app[SESSIONS_KEY]() as session:
        rows = (await session.exec(select(Sanction))).all()
    assert [(r.kind, r.username) for r in rows] == [("mute", "chat_viewer")]


async def test_expired_mute_lets_the_user_talk_again(client: TestClient, sio_client: ClientFactory) -> None:
    import asyncio

    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    admin = await login(client, "demo_admin", "admin123")
    await client.post("/api/admin/mute", json={"username": "chat_viewer", "duration_s": 1}, headers=auth(admin))
    assert (await viewer.call("chat", {"message": "muted?"}))["error"]["code"] == "muted"
    await asyncio.sleep(1.1)
    assert (await viewer.call("chat", {"message": "free again"}))["ok"] is True


async def test_every_admin_action_is_audited(client: TestClient) -> None:
    admin = await login(client, "demo_admin", "admin123")
    await client.post("/api/admin/kick", json={"username": "chat_viewer"}, headers=auth(admin))
    await client.post("/api/admin/mute", json={"username": "chat_viewer", "reason": "rude"}, headers=auth(admin))
    await client.post("/api/admin/reset_metrics", json={}, headers=auth(admin))
    async with client.app[SESSIONS_KEY]() as session:
        rows = (await session.exec(select(AdminAction).order_by(AdminAction.id))).all()
    assert [(r.actor, r.action, r.target) for r in rows] == [
        ("demo_admin", "kick", "chat_viewer"),
        ("demo_admin", "mute", "chat_viewer"),
        ("demo_admin", "reset_metrics", ""),
    ]
    assert rows[1].reason == "rude"


async def test_unknown_target_is_404(client: TestClient) -> None:
    admin = await login(client, "demo_admin", "admin123")
    resp = await client.post("/api/admin/kick", json={"username": "nobody"}, headers=auth(admin))
    assert resp.status == 404


async def test_reset_metrics(client: TestClient, sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    await alice.call("chat", {"message": "fuck off"})
    await alice.call("chat", {"message": "nice stream"})
    metrics = await (await client.get("/metrics")).json()
    assert metrics["toxic_pct"] == 50.0 and metrics["viewer_count"] == 1
    admin = await login(client, "demo_admin", "admin123")
    assert (await client.post("/api/admin/reset_metrics", json={}, headers=auth(admin))).status == 200
    metrics = await (await client.get("/metrics?stream=main")).json()
    assert metrics["toxic_pct"] == 0.0 and metrics["gift_count"] == 0 and metrics["viewer_count"] == 1
