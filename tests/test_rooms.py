"""Room membership and its bounds: joins, replays, kicks, ended streams, who may sanction whom."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from safestream.app_keys import PASSWORDS_KEY, SESSIONS_KEY
from safestream.chat import replay
from safestream.storage import users
from tests.conftest import AppFactory, ClientFactory, Recorder, auth, login


async def _settle(*recs: Recorder, marker: Recorder) -> None:
    """Waits until ``marker`` saw its own last message: later events to others would have arrived too."""
    ack = await marker.call("chat", {"message": "settle", "stream": "main"})
    await marker.wait_for(lambda: [m for m in marker.chats() if m["id"] == ack["id"]])
    await asyncio.sleep(0.1)


async def _open(client: TestClient, token: str, stream: str) -> None:
    resp = await client.post("/api/streams", json={"stream": stream, "title": stream}, headers=auth(token))
    assert resp.status == 201, await resp.text()


async def _user(client: TestClient, name: str, role: str) -> None:
    app = client.app
    await users.create_user(
        app[SESSIONS_KEY],
        username=name,
        password_hash=await app[PASSWORDS_KEY].hash("pw-" + name),
        role=role,
        email=f"{name}@example.invalid",
    )


# ---------------------------------------------------------------- item 16: kicks


async def test_stream_kick_removes_the_user_from_that_stream_only(
    client: TestClient, sio_client: ClientFactory
) -> None:
    streamer = await login(client, "test_streamer", "test456")
    await _open(client, streamer, "second")
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    assert (await viewer.call("join", {"stream": "second"}))["ok"]
    bystander = await sio_client("demo_user", "demo123", join="main")
    admin = await login(client, "demo_admin", "admin123")

    resp = await client.post(
        "/api/admin/kick", json={"username": "chat_viewer", "stream": "main", "reason": "spam"}, headers=auth(admin)
    )
    assert resp.status == 200
    assert (await resp.json())["disconnected"] == 0 and (await resp.json())["removed"] == 1
    assert (await viewer.wait_for(lambda: viewer.of("kicked"))) == [{"stream": "main", "reason": "spam"}]

    # Still connected and still in the other stream ...
    assert viewer.sio.connected
    assert (await viewer.call("chat", {"message": "still here", "stream": "second"}))["ok"]
    # ... but out of main: no chat there, nothing from there.
    refused = await viewer.call("chat", {"message": "back in main?", "stream": "main"})
    assert refused["error"]["code"] == "not_in_stream"
    before = len(viewer.chats())
    await _settle(viewer, marker=bystander)
    assert [m for m in viewer.chats()[before:] if m["stream"] == "main"] == []
    metrics = await (await client.get("/metrics?stream=main")).json()
    assert metrics["viewer_count"] == 1  # only the bystander

    # A site-wide kick still disconnects.
    await client.post("/api/admin/kick", json={"username": "chat_viewer"}, headers=auth(admin))
    await viewer.wait_for(lambda: viewer.disconnected.is_set(), timeout=5)


async def test_stream_ban_leaves_other_streams_alone(client: TestClient, sio_client: ClientFactory) -> None:
    streamer = await login(client, "test_streamer", "test456")
    await _open(client, streamer, "second")
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    assert (await viewer.call("join", {"stream": "second"}))["ok"]
    resp = await client.post(
        "/api/admin/ban", json={"username": "chat_viewer", "stream": "main"}, headers=auth(streamer)
    )
    assert resp.status == 200
    await viewer.wait_for(lambda: viewer.of("kicked"))
    assert viewer.sio.connected
    assert (await viewer.call("join", {"stream": "main"}))["error"]["code"] == "banned"
    assert (await viewer.call("chat", {"message": "hi", "stream": "second"}))["ok"]


# ---------------------------------------------------------------- items 19 and 12: failed joins


@pytest.mark.parametrize("since", ["yesterday", -1, 2**63, 2**64 + 5, 1.5, True, [1]])
async def test_a_refused_join_leaves_no_trace(client: TestClient, sio_client: ClientFactory, since: Any) -> None:
    viewer = await sio_client("chat_viewer", "viewer789")
    other = await sio_client("demo_user", "demo123", join="main")
    ack = await viewer.call("join", {"stream": "main", "since": since})
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", ack  # typed, never "internal"
    assert (await viewer.call("chat", {"message": "sneaky", "stream": "main"}))["error"]["code"] == "not_in_stream"
    await _settle(viewer, marker=other)
    assert viewer.chats() == []  # it never entered the room
    assert (await (await client.get("/metrics?stream=main")).json())["viewer_count"] == 1


async def test_join_with_the_largest_id_works(client: TestClient, sio_client: ClientFactory) -> None:
    viewer = await sio_client("chat_viewer", "viewer789")
    ack = await viewer.call("join", {"stream": "main", "since": 2**63 - 1})
    assert ack["ok"] and ack["history"] == [] and ack["gap"] is False


# ---------------------------------------------------------------- item 4: join amplification


async def _fill(sender: Recorder, n: int) -> list[int]:
    ids: list[int] = []
    for start in range(0, n, 50):
        acks = await asyncio.gather(
            *(sender.call("chat", {"message": f"m{i}"}) for i in range(start, min(start + 50, n)))
        )
        ids += [a["id"] for a in acks]
    return sorted(ids)


async def test_join_floods_are_refused_and_replays_bounded(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(rate_limit_per_user=100000, joins_per_window=5, replay_budget=1000)
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    await _fill(sender, 300)
    attacker = await sio_client("chat_viewer", "viewer789", test_client=app)
    acks = [await attacker.call("join", {"stream": "main", "since": 0}) for _ in range(40)]
    ok = [a for a in acks if a["ok"]]
    refused = [a for a in acks if not a["ok"]]
    assert 1 <= len(ok) <= 5
    assert {a["error"]["code"] for a in refused} == {"rate_limited"}
    assert all(a["error"]["retry_after"] > 0 for a in refused)
    assert sum(len(a["history"]) for a in ok) <= 1000  # the replay budget per socket per minute
    # Each socket has its own allowance: a fresh one still gets its full replay.
    fresh = await sio_client("chat_viewer", "viewer789", test_client=app)
    ack = await fresh.call("join", {"stream": "main", "since": 0})
    assert ack["ok"] and len(ack["history"]) == 300 and ack["gap"] is False


async def test_reconnect_replays_come_from_memory(
    make_app: AppFactory, sio_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await make_app(rate_limit_per_user=100000)
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    ids = await _fill(sender, 200)
    queries: list[int] = []
    real = replay.message_store.recent_visible

    async def counting(*args: Any, **kwargs: Any) -> Any:
        queries.append(kwargs.get("after_seq", 0))
        return await real(*args, **kwargs)

    monkeypatch.setattr(replay.message_store, "recent_visible", counting)
    viewer = await sio_client("chat_viewer", "viewer789", test_client=app)
    ack = await viewer.call("join", {"stream": "main", "since": ids[10]})
    assert [m["id"] for m in ack["history"]] == ids[11:] and ack["gap"] is False
    assert queries == []  # 189 missed messages, served from the ring without a database query


# ---------------------------------------------------------------- item 23: ended streams


async def test_ending_a_stream_empties_its_room(client: TestClient, sio_client: ClientFactory) -> None:
    streamer = await login(client, "test_streamer", "test456")
    await _open(client, streamer, "late-show")
    viewer = await sio_client("chat_viewer", "viewer789", join="late-show")
    other = await sio_client("demo_user", "demo123", join="late-show")
    assert (await other.call("join", {"stream": "main"}))["ok"]
    assert (await viewer.call("chat", {"message": "before the end"}))["ok"]
    assert (await (await client.get("/metrics?stream=late-show")).json())["viewer_count"] == 2

    assert (await client.post("/api/streams/late-show/end", headers=auth(streamer))).status == 200
    assert (await viewer.wait_for(lambda: viewer.of("stream_status")))[-1] == {"stream": "late-show", "live": False}
    for payload in ({"message": "after the end"}, {"message": "after the end", "stream": "late-show"}):
        ack = await viewer.call("chat", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "stream_offline", ack
    ack = await other.call("chat", {"message": "after", "stream": "late-show"})
    assert ack["error"]["code"] == "stream_offline"
    metrics = await (await client.get("/metrics?stream=late-show")).json()
    assert metrics["viewer_count"] == 0 and metrics["message_count"] == 1
    assert (await other.call("chat", {"message": "main still works"}))["ok"]  # its other stream is untouched

    # Going live again lets them back in.
    await _open(client, streamer, "late-show")
    assert (await viewer.call("join", {"stream": "late-show"}))["ok"]
    assert (await viewer.call("chat", {"message": "we are back"}))["ok"]


# ---------------------------------------------------------------- item 17: ranks, caps, pages


async def test_a_streamer_cannot_sanction_global_staff(client: TestClient) -> None:
    await _user(client, "site_mod", "moderator")
    streamer = await login(client, "test_streamer", "test456")
    for path in ("mute", "ban", "kick"):
        for target in ("demo_admin", "site_mod"):
            resp = await client.post(
                f"/api/admin/{path}", json={"username": target, "stream": "main"}, headers=auth(streamer)
            )
            assert resp.status == 403, (path, target)
            assert (await resp.json())["error"]["code"] == "target_outranks"
    ok = await client.post(
        "/api/admin/mute", json={"username": "chat_viewer", "stream": "main"}, headers=auth(streamer)
    )
    assert ok.status == 200
    mod = await login(client, "site_mod", "pw-site_mod")
    assert (
        await client.post("/api/admin/mute", json={"username": "test_streamer", "stream": "main"}, headers=auth(mod))
    ).status == 200  # global staff may act on the owner
    refused = await client.post("/api/admin/ban", json={"username": "demo_admin"}, headers=auth(mod))
    assert refused.status == 403


async def test_live_streams_per_owner_are_capped(make_app: AppFactory) -> None:
    app = await make_app(max_live_streams_per_owner=2)
    streamer = await login(app, "test_streamer", "test456")  # already live with "main"
    await _open(app, streamer, "one")
    resp = await app.post("/api/streams", json={"stream": "two"}, headers=auth(streamer))
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "too_many_streams"
    await _open(app, streamer, "main")  # re-opening a live stream is not a new one
    assert (await app.post("/api/streams/one/end", headers=auth(streamer))).status == 200
    await _open(app, streamer, "two")


async def test_streams_are_paginated(make_app: AppFactory) -> None:
    app = await make_app(max_live_streams_per_owner=10)
    admin = await login(app, "demo_admin", "admin123")
    for name in ("a1", "a2", "a3", "a4"):
        await _open(app, admin, name)
    everything = await (await app.get("/streams")).json()  # the default page: a plain list, as before
    assert [s["stream"] for s in everything] == ["a1", "a2", "a3", "a4", "main"]
    seen: list[str] = []
    cursor = None
    while True:
        resp = await app.get("/streams", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert resp.status == 200
        seen += [s["stream"] for s in await resp.json()]
        cursor = resp.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert seen == ["a1", "a2", "a3", "a4", "main"]
    for bad in ({"limit": "0"}, {"limit": "x"}, {"limit": "501"}, {"cursor": "Bad Name"}):
        assert (await app.get("/streams", params=bad)).status == 422


# ---------------------------------------------------------------- item 18: console audit


async def test_site_wide_actions_reach_only_staff_consoles(client: TestClient, sio_client: ClientFactory) -> None:
    streamer = await login(client, "test_streamer", "test456")
    admin = await login(client, "demo_admin", "admin123")
    await _open(client, admin, "other")
    owner_console = await sio_client(token=streamer)
    assert (await owner_console.call("console_join", {"stream": "main"}))["ok"]
    staff_console = await sio_client(token=admin)
    assert (await staff_console.call("console_join", {"stream": "main"}))["ok"]

    await client.post(
        "/api/admin/mute", json={"username": "demo_user", "reason": "private reason XYZ"}, headers=auth(admin)
    )
    await client.post(
        "/api/admin/mute",
        json={"username": "demo_user", "stream": "other", "reason": "other stream QRS"},
        headers=auth(admin),
    )
    await client.post(
        "/api/admin/mute",
        json={"username": "chat_viewer", "stream": "main", "reason": "own stream ABC"},
        headers=auth(admin),
    )

    def fragments(rec: Recorder) -> str:
        return " ".join(f["html"] for f in rec.of("console_fragment") if f["target"] == "#audit-rows")

    await owner_console.wait_for(lambda: "own stream ABC" in fragments(owner_console))
    await staff_console.wait_for(lambda: "own stream ABC" in fragments(staff_console))
    assert "private reason XYZ" in fragments(staff_console)
    assert "private reason XYZ" not in fragments(owner_console)
    assert "other stream QRS" not in fragments(owner_console) + fragments(staff_console)


async def test_console_join_floods_are_refused(client: TestClient, sio_client: ClientFactory) -> None:
    streamer = await login(client, "test_streamer", "test456")
    console = await sio_client(token=streamer)
    acks = [await console.call("console_join", {"stream": "main"}) for _ in range(15)]
    assert sum(a["ok"] for a in acks) == 10  # SAFESTREAM_JOIN_RATE_LIMIT per 10 s
    assert {a["error"]["code"] for a in acks if not a["ok"]} == {"rate_limited"}
