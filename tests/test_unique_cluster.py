"""Issue 12: unique chat's counts are the cluster's through Redis (two app instances, one Redis db).

A user's own repeat is refused whichever process they send it through, and the
pre-send nudge on the other process already says so. Needs Redis: fails with
CI=true when it is unreachable, skips elsewhere (``require_service``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from safestream.app import create_app
from safestream.settings import Settings
from tests.conftest import REDIS_URL, Recorder, auth, login, require_service

pytestmark = [pytest.mark.redis]


def _port() -> int:
    """A free port: inside ``SAFESTREAM_TEST_PORTS`` ("low-high") when set (a shared machine), else any."""
    low, _, high = os.environ.get("SAFESTREAM_TEST_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high) + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise AssertionError("no free port in SAFESTREAM_TEST_PORTS")


@pytest.fixture
async def two_apps(aiohttp_client: Any, settings: Settings) -> AsyncIterator[tuple[TestClient, TestClient]]:
    """Two app instances on one database and one Redis (a fresh key prefix), like two servers."""
    require_service("Redis", "127.0.0.1", 6379)
    shared = settings.replace(redis_url=REDIS_URL, redis_prefix=f"t{uuid.uuid4().hex[:8]}")
    a = await aiohttp_client(create_app(shared), server_kwargs={"port": _port()})
    b = await aiohttp_client(create_app(shared), server_kwargs={"port": _port()})
    yield a, b


async def connect(client: TestClient, username: str, password: str) -> Recorder:
    rec = Recorder()
    token = await login(client, username, password)
    await rec.sio.connect(str(client.make_url("/")), auth={"token": token}, transports=["websocket"], wait_timeout=5)
    assert (await rec.call("join", {"stream": "main"}))["ok"]
    return rec


async def test_a_repeat_through_the_other_process_is_refused_and_nudged(
    two_apps: tuple[TestClient, TestClient],
) -> None:
    a, b = two_apps
    token = await login(a, "test_streamer", "test456")
    policy = {
        "levels": [{"category": "*", "threshold": 0.99, "action": "flag"}],
        "modes": {"unique": {"on": True, "window_secs": 30, "crowd_users": 5}},
    }
    resp = await a.put("/api/streams/main/policy", headers=auth(token), json=policy)
    assert resp.status == 200, await resp.text()
    await asyncio.sleep(0.3)  # B reloads the policy on the cluster event
    on_a = await connect(a, "demo_user", "demo123")
    on_b = await connect(b, "demo_user", "demo123")
    try:
        assert (await on_a.call("chat", {"message": "hello from the first server"}))["ok"]
        # B has never seen this user's text: only the shared count knows it.
        draft = await on_b.call("nudge", {"message": "HELLO from the first server!!"})
        assert draft["ok"] and draft["action"] == "refuse" and draft["code"] == "duplicate", draft
        again = await on_b.call("chat", {"message": "Hello from the first server"})
        assert again["ok"] is False and again["error"]["code"] == "duplicate", again
        # Short texts count too (the own-repeat check has no minimum length), and other texts pass.
        assert (await on_a.call("chat", {"message": "gg"}))["ok"]
        assert (await on_b.call("chat", {"message": "gg"}))["error"]["code"] == "duplicate"
        fresh = await on_b.call("chat", {"message": "something new from the second server"})
        assert fresh["ok"], fresh
        # The nudge recorded nothing: a draft on B of a new text can still be sent on A.
        assert (await on_b.call("nudge", {"message": "a draft I never send"}))["action"] == "allow"
        assert (await on_a.call("chat", {"message": "a draft I never send"}))["ok"]
    finally:
        for rec in (on_a, on_b):
            if rec.sio.connected:
                await rec.sio.disconnect()


async def test_with_unique_chat_off_the_send_path_asks_redis_nothing(
    two_apps: tuple[TestClient, TestClient],
) -> None:
    """Off, a repeat through the other process is simply sent (and no post is made for Redis)."""
    a, b = two_apps
    on_a = await connect(a, "demo_user", "demo123")
    on_b = await connect(b, "demo_user", "demo123")
    try:
        assert (await on_a.call("chat", {"message": "same words twice"}))["ok"]
        assert (await on_b.call("chat", {"message": "same words twice"}))["ok"]
        assert (await on_b.call("nudge", {"message": "same words twice"}))["action"] == "allow"
    finally:
        for rec in (on_a, on_b):
            if rec.sio.connected:
                await rec.sio.disconnect()


async def test_a_flood_spread_over_both_processes_is_refused(two_apps: tuple[TestClient, TestClient]) -> None:
    """The copy-paste count is shared too: with a crowd of 2, the third poster is refused on either side."""
    a, b = two_apps
    token = await login(a, "test_streamer", "test456")
    for name in ("pasta_one", "pasta_two"):
        resp = await a.post("/auth/register", json={"username": name, "password": "secret123"})
        assert resp.status == 201, await resp.text()
    policy = {
        "levels": [{"category": "*", "threshold": 0.99, "action": "flag"}],
        "modes": {"unique": {"on": True, "window_secs": 30, "crowd_users": 2}},
    }
    assert (await a.put("/api/streams/main/policy", headers=auth(token), json=policy)).status == 200
    await asyncio.sleep(0.3)
    posters = [await connect(a, "pasta_one", "secret123"), await connect(b, "pasta_two", "secret123")]
    third = await connect(a, "demo_user", "demo123")
    pasta = "everyone paste this message in every chat you visit tonight"
    try:
        assert (await posters[0].call("chat", {"message": pasta}))["ok"]
        assert (await posters[1].call("chat", {"message": pasta + "!!"}))["ok"]
        ack = await third.call("chat", {"message": pasta + " 😂"})  # A has seen one poster: only Redis saw two
        assert ack["ok"] is False and ack["error"]["code"] == "duplicate", ack
    finally:
        for rec in (*posters, third):
            if rec.sio.connected:
                await rec.sio.disconnect()
