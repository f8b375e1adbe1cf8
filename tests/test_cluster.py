"""Two real server processes sharing PostgreSQL and Redis (python-socketio's Redis manager)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests import processes
from tests.conftest import POSTGRES_URL, REDIS_URL, Recorder, postgres_admin, require_service

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


class Node:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.port = processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp / f"node-{self.port}.log").open("wb")
        self.proc = processes.spawn(
            [sys.executable, "-m", "safestream", "serve", "--port", str(self.port)],
            cwd=tmp,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def wait_healthy(self, timeout: float = 90.0) -> None:  # a cold process imports torch
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, "server exited early"
                try:
                    async with http.get(self.url + "/healthz") as resp:
                        # Ready to chat: healthy and its moderation chain loaded.
                        if resp.status == 200 and (await resp.json()).get("moderation_state") != "loading":
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("server did not become healthy")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    name = f"safestream_cluster_{uuid.uuid4().hex[:8]}"
    asyncio.run(postgres_admin(f'CREATE DATABASE "{name}"'))
    env = {
        "DATABASE_URL": POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}",
        "REDIS_URL": REDIS_URL,
        "SAFESTREAM_REDIS_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "SAFESTREAM_ARGON2_TIME_COST": "1",
        "SAFESTREAM_ARGON2_MEMORY_KIB": "1024",
        "GIFT_INTERVAL_SECS": "3600",
        "SAFESTREAM_LOG_DIR": "logs",
    }
    yield env
    asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def two_nodes(tmp_path: Path, cluster_env: dict[str, str]) -> AsyncIterator[tuple[Node, Node]]:
    nodes = await _start(tmp_path, cluster_env)
    yield nodes
    for node in nodes:
        node.stop()


async def _start(tmp_path: Path, env: dict[str, str]) -> tuple[Node, Node]:
    a = Node(tmp_path, env)
    await a.wait_healthy()  # A migrates and seeds first; B then finds everything in place
    b = Node(tmp_path, env)
    await b.wait_healthy()
    return a, b


async def token(node: Node, username: str = "demo_user", password: str = "demo123") -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(node.url + "/auth/login", data={"username": username, "password": password}) as resp:
            assert resp.status == 200
            return str((await resp.json())["access_token"])


async def connect(node: Node, username: str, password: str, *, join: bool = True) -> Recorder:
    rec = Recorder()
    await rec.sio.connect(node.url, auth={"token": await token(node, username, password)}, transports=["websocket"])
    if join:
        assert (await rec.call("join", {"stream": "main"}))["ok"]
    return rec


async def post(node: Node, path: str, body: dict[str, object], bearer: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as http:
        async with http.post(node.url + path, json=body, headers={"Authorization": f"Bearer {bearer}"}) as resp:
            await resp.read()
            return resp


async def get_json(node: Node, path: str) -> object:
    async with aiohttp.ClientSession() as http, http.get(node.url + path) as resp:
        return await resp.json()


async def test_messages_kicks_mutes_and_metrics_cross_processes(two_nodes: tuple[Node, Node]) -> None:
    a, b = two_nodes
    on_a = await connect(a, "demo_user", "demo123")
    on_b = await connect(b, "chat_viewer", "viewer789")
    try:
        first = await on_a.call("chat", {"message": "hello from A"})
        got = await on_b.wait_for(lambda: [m for m in on_b.chats() if m["message"] == "hello from A"])
        assert got[0]["id"] == first["id"]
        second = await on_b.call("chat", {"message": "hello from B"})
        assert second["id"] > first["id"]  # one id sequence for the stream across processes
        await on_a.wait_for(lambda: [m for m in on_a.chats() if m["message"] == "hello from B"])

        await asyncio.sleep(0.3)
        metrics_a, metrics_b = await get_json(a, "/metrics?stream=main"), await get_json(b, "/metrics?stream=main")
        assert metrics_a == metrics_b
        assert metrics_a["viewer_count"] == 2 and metrics_a["message_count"] == 2  # type: ignore[index]

        admin = await token(a, "demo_admin", "admin123")
        resp = await post(a, "/api/admin/mute", {"username": "chat_viewer", "duration_s": 60}, admin)
        assert resp.status == 200
        ack = await on_b.call("chat", {"message": "am I muted on B?"})
        assert ack["ok"] is False and ack["error"]["code"] == "muted"

        resp = await post(a, "/api/admin/kick", {"username": "chat_viewer", "reason": "bye"}, admin)
        assert resp.status == 200
        await on_b.wait_for(lambda: on_b.disconnected.is_set(), timeout=5)
        assert on_b.of("kicked")[0]["reason"] == "bye"
    finally:
        for rec in (on_a, on_b):
            if rec.sio.connected:
                await rec.sio.disconnect()


async def test_reconnect_to_the_other_process_fills_the_gap(two_nodes: tuple[Node, Node]) -> None:
    a, b = two_nodes
    sender = await connect(a, "demo_user", "demo123")
    viewer = await connect(a, "chat_viewer", "viewer789")
    try:
        await sender.call("chat", {"message": "before"})
        last = (await viewer.wait_for(lambda: viewer.chats()))[-1]["id"]
        await viewer.sio.disconnect()
        missed = [(await sender.call("chat", {"message": f"missed {i}"}))["id"] for i in range(5)]
        back = await connect(b, "chat_viewer", "viewer789", join=False)
        ack = await back.call("join", {"stream": "main", "since": last})
        assert [m["id"] for m in ack["history"]] == missed
        await back.sio.disconnect()
    finally:
        if sender.sio.connected:
            await sender.sio.disconnect()


async def test_one_gift_producer_per_stream_across_processes(tmp_path: Path, cluster_env: dict[str, str]) -> None:
    a, b = await _start(tmp_path, {**cluster_env, "GIFT_INTERVAL_SECS": "0.4"})
    viewer = None
    try:
        viewer = await connect(b, "chat_viewer", "viewer789")
        await asyncio.sleep(4.2)
        gifts = viewer.of("gift")
        ids = [g["id"] for g in gifts]
        assert ids == sorted(set(ids)) and {g["from"] for g in gifts} == {"bot"}
        # One producer: about 10 gifts in 4 s (two producers would send about 20).
        assert 5 <= len(gifts) <= 12, len(gifts)
    finally:
        if viewer is not None and viewer.sio.connected:
            await viewer.sio.disconnect()
        a.stop()
        b.stop()


async def test_stream_kick_and_stream_end_cross_processes(two_nodes: tuple[Node, Node]) -> None:
    a, b = two_nodes
    streamer = await token(a, "test_streamer", "test456")
    assert (await post(a, "/api/streams", {"stream": "second"}, streamer)).status == 201
    on_b = await connect(b, "chat_viewer", "viewer789")
    other_b = await connect(b, "demo_user", "demo123")
    try:
        assert (await on_b.call("join", {"stream": "second"}))["ok"]
        assert (await other_b.call("join", {"stream": "second"}))["ok"]
        # A kick from main, asked on A, takes B's socket out of main only.
        assert (await post(a, "/api/admin/kick", {"username": "chat_viewer", "stream": "main"}, streamer)).status == 200
        await on_b.wait_for(lambda: on_b.of("kicked"), timeout=5)
        assert on_b.sio.connected
        ack = await on_b.call("chat", {"message": "in main?", "stream": "main"})
        assert ack["error"]["code"] == "not_in_stream"
        assert (await on_b.call("chat", {"message": "in second", "stream": "second"}))["ok"]
        # Ending "second" on A empties B's room too, after stream_status.
        assert (await post(a, "/api/streams/second/end", {}, streamer)).status == 200
        await on_b.wait_for(lambda: on_b.of("stream_status"), timeout=5)
        ack = await on_b.call("chat", {"message": "after the end", "stream": "second"})
        assert ack["error"]["code"] == "stream_offline"
        await asyncio.sleep(0.3)
        for node in (a, b):
            metrics = await get_json(node, "/metrics?stream=second")
            assert metrics["viewer_count"] == 0, metrics  # type: ignore[index]
        assert (await other_b.call("chat", {"message": "main goes on", "stream": "main"}))["ok"]
    finally:
        for rec in (on_b, other_b):
            if rec.sio.connected:
                await rec.sio.disconnect()


# Revocation: a session ended on one process ends on every process (issue 9, item 14/15).
async def _me(node: Node, bearer: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(node.url + "/auth/me", headers={"Authorization": f"Bearer {bearer}"}) as resp,
    ):
        return resp.status


async def test_logout_and_deletion_on_one_process_drop_sockets_on_the_other(two_nodes: tuple[Node, Node]) -> None:
    a, b = two_nodes
    on_b = await connect(b, "demo_user", "demo123")
    doomed = None
    try:
        bearer = await token(a, "demo_user", "demo123")
        assert await _me(b, bearer) == 200
        assert (await post(a, "/auth/logout", {}, bearer)).status == 200
        await asyncio.wait_for(on_b.disconnected.wait(), 5)
        assert await _me(b, bearer) == 401

        async with (
            aiohttp.ClientSession() as http,
            http.post(a.url + "/auth/register", json={"username": "doomed", "password": "doomed-1"}) as r,
        ):
            assert r.status == 201
        doomed = await connect(b, "doomed", "doomed-1")
        admin = await token(a, "demo_admin", "admin123")
        assert (await post(a, "/api/admin/delete_user", {"username": "doomed"}, admin)).status == 200
        await asyncio.wait_for(doomed.disconnected.wait(), 5)
    finally:
        for rec in (on_b, doomed):
            if rec is not None and rec.sio.connected:
                await rec.sio.disconnect()


async def test_shield_and_email_verification_hold_across_processes(two_nodes: tuple[Node, Node]) -> None:
    """Issue 12: a stream's modes are part of its policy, so they hold in every process."""
    a, b = two_nodes
    streamer = await token(a, "test_streamer", "test456")
    on_b = await connect(b, "demo_user", "demo123")  # created at start-up: a brand-new account
    try:
        assert (await post(a, "/api/streams/main/shield", {"on": True}, streamer)).status == 200
        events = await on_b.wait_for(lambda: [e for e in on_b.of("modes") if e["shield"]], timeout=5)
        assert events[0]["min_account_age_mins"] == 60
        await asyncio.sleep(0.3)  # B reloads the policy on the cluster event
        ack = await on_b.call("chat", {"message": "raid!"})
        assert ack["error"]["code"] == "account_too_new", ack
        assert (await post(a, "/api/streams/main/shield", {"on": False}, streamer)).status == 200
        await on_b.wait_for(lambda: [e for e in on_b.of("modes") if not e["shield"]], timeout=5)
        await asyncio.sleep(0.3)
        assert (await on_b.call("chat", {"message": "calm again"}))["ok"]
    finally:
        if on_b.sio.connected:
            await on_b.sio.disconnect()


async def test_a_copy_paste_flood_spread_over_processes_is_refused(two_nodes: tuple[Node, Node]) -> None:
    """Issue 12: unique chat's "many users posting the same text" count is the cluster's, through Redis.

    With a crowd of 2, the third poster is refused. The posters alternate
    between the processes, so neither process alone has seen 2 before the
    third: only the shared count refuses it.
    """
    a, b = two_nodes
    streamer = await token(a, "test_streamer", "test456")
    async with aiohttp.ClientSession() as http:
        for name in ("pasta_one", "pasta_two", "pasta_three"):
            async with http.post(a.url + "/auth/register", json={"username": name, "password": "secret123"}) as r:
                assert r.status == 201, await r.text()
        policy = {
            "levels": [{"category": "*", "threshold": 0.99, "action": "flag"}],
            "modes": {"unique": {"on": True, "window_secs": 30, "crowd_users": 2}},
        }
        async with http.put(
            a.url + "/api/streams/main/policy", json=policy, headers={"Authorization": f"Bearer {streamer}"}
        ) as r:
            assert r.status == 200, await r.text()
    await asyncio.sleep(0.3)  # B reloads the policy on the cluster event
    one = await connect(a, "pasta_one", "secret123")
    two = await connect(b, "pasta_two", "secret123")
    three = await connect(a, "pasta_three", "secret123")
    four = await connect(b, "demo_user", "demo123")
    pasta = "everyone paste this message in every chat you visit tonight"
    try:
        assert (await one.call("chat", {"message": pasta}))["ok"]
        assert (await two.call("chat", {"message": pasta + "!!"}))["ok"]
        third = await three.call("chat", {"message": pasta + " 😂"})  # A has seen only one poster
        assert third["ok"] is False and third["error"]["code"] == "duplicate", third
        fourth = await four.call("chat", {"message": "!" + pasta})  # B has seen only one poster
        assert fourth["ok"] is False and fourth["error"]["code"] == "duplicate", fourth
        assert (await four.call("chat", {"message": "a different line of my own"}))["ok"]
    finally:
        for rec in (one, two, three, four):
            if rec.sio.connected:
                await rec.sio.disconnect()
