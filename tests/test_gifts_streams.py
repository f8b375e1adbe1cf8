"""Gifts (manual and produced) and the stream lifecycle."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, ClientFactory, auth, login


async def test_manual_gift_is_broadcast_and_counted(client: TestClient, sio_client: ClientFactory) -> None:
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    await sio_client("demo_user", "demo123", join="main")  # a viewer's gift needs them in the stream
    token = await login(client, "demo_user", "demo123")
    resp = await client.post(
        "/api/gift", json={"from": "demo_user", "gift_id": "rose", "amount": 3, "stream": "main"}, headers=auth(token)
    )
    assert resp.status == 200
    gift = (await viewer.wait_for(lambda: viewer.of("gift")))[0]
    assert gift == await resp.json()
    assert gift["type"] == "gift" and gift["from"] == "demo_user" and gift["amount"] == 3 and gift["id"] >= 1
    assert (await (await client.get("/metrics")).json())["gift_count"] == 1


async def test_gift_validation_and_impersonation(client: TestClient) -> None:
    token = await login(client, "demo_user", "demo123")
    bad = await client.post("/api/gift", json={"gift_id": "<script>", "amount": -1}, headers=auth(token))
    assert bad.status == 422
    fields = {e["field"] for e in (await bad.json())["error"]["fields"]}
    assert fields == {"gift_id", "amount"}
    other = await client.post("/api/gift", json={"from": "chat_viewer", "gift_id": "rose"}, headers=auth(token))
    assert other.status == 403
    assert (await client.post("/api/gift", json={"gift_id": "rose"})).status == 401


async def test_producer_sends_gifts_from_bot(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(gift_interval_secs=0.1)
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    gifts = await viewer.wait_for(lambda: len(viewer.of("gift")) >= 2 and viewer.of("gift"), timeout=5)
    assert {g["from"] for g in gifts} == {"bot"} and gifts[1]["id"] > gifts[0]["id"]
    catalogue = {g["id"]: g["name"] for g in await (await app.get("/api/gifts")).json()}
    assert all(catalogue.get(g["gift_id"]) == g["name"] for g in gifts)  # the bot sends catalogue gifts


async def test_streamer_opens_and_ends_a_stream(client: TestClient, sio_client: ClientFactory) -> None:
    streamer = await login(client, "test_streamer", "test456")
    resp = await client.post("/api/streams", json={"stream": "late-show", "title": "Late show"}, headers=auth(streamer))
    assert resp.status == 201
    listed = await (await client.get("/streams")).json()
    assert {
        "stream": "late-show",
        "title": "Late show",
        "owner": "test_streamer",
        "viewers": 0,
        "live": True,
        "gift_count": 0,
        "gift_amount": 0,
        "last_gift_id": 0,
    } in listed
    viewer = await sio_client("demo_user", "demo123", join="late-show")
    assert (await client.post("/api/streams/late-show/end", headers=auth(streamer))).status == 200
    status = await viewer.wait_for(lambda: viewer.of("stream_status"))
    assert status[-1] == {"stream": "late-show", "live": False}
    assert "late-show" not in [s["stream"] for s in await (await client.get("/streams")).json()]
    again = await sio_client("chat_viewer", "viewer789")
    assert (await again.call("join", {"stream": "late-show"}))["error"]["code"] == "stream_offline"


async def test_stream_roles(client: TestClient) -> None:
    viewer = await login(client, "demo_user", "demo123")
    assert (await client.post("/api/streams", json={"stream": "mine"}, headers=auth(viewer))).status == 403
    assert (await client.post("/api/streams/main/end", headers=auth(viewer))).status == 403
    admin = await login(client, "demo_admin", "admin123")
    taken = await client.post("/api/streams", json={"stream": "main"}, headers=auth(admin))
    assert taken.status == 409
    assert (await client.post("/api/streams/nosuch/end", headers=auth(admin))).status == 404
    assert (await client.post("/api/streams", json={"stream": "Bad Name"}, headers=auth(admin))).status == 422


# ---------------------------------------------------------------- issue 9 item 3: gifts are catalogue entries


async def test_the_catalogue_is_listed_and_is_all_that_can_be_sent(client: TestClient) -> None:
    catalogue = await (await client.get("/api/gifts")).json()
    assert {g["id"] for g in catalogue} >= {"rose", "universe"}
    assert all(set(g) == {"id", "numeric_id", "name", "icon", "value"} for g in catalogue)
    token = await login(client, "demo_user", "demo123")
    for bad in ("kill-yourself", "fuck_you_all", 12345, "999", True, 1.5):
        resp = await client.post("/api/gift", json={"gift_id": bad}, headers=auth(token))
        assert resp.status == 422, bad
        assert (await resp.json())["error"]["fields"][0]["field"].startswith("gift_id")
    too_many = await client.post("/api/gift", json={"gift_id": "rose", "amount": 10000}, headers=auth(token))
    assert too_many.status == 422


async def test_original_design_integer_gift_ids_are_echoed(client: TestClient, sio_client: ClientFactory) -> None:
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    admin = await login(client, "demo_admin", "admin123")
    resp = await client.post("/api/gift", json={"from": "admin", "gift_id": 999, "amount": 1}, headers=auth(admin))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["gift_id"] == 999 and body["from"] == "admin" and body["name"] == "Universe"
    gift = (await viewer.wait_for(lambda: viewer.of("gift")))[0]
    assert gift["gift_id"] == 999 and isinstance(gift["gift_id"], int)
    named = await client.post("/api/gift", json={"gift_id": "rose"}, headers=auth(admin))
    assert (await named.json())["gift_id"] == "rose"


async def test_banned_or_muted_users_send_no_gifts(client: TestClient, sio_client: ClientFactory) -> None:
    admin = await login(client, "demo_admin", "admin123")
    token = await login(client, "demo_user", "demo123")
    outside = await client.post("/api/gift", json={"gift_id": "rose", "stream": "main"}, headers=auth(token))
    assert outside.status == 409 and (await outside.json())["error"]["code"] == "not_in_stream"
    await sio_client(token=token, join="main")
    await client.post("/api/admin/ban", json={"username": "demo_user", "stream": "main"}, headers=auth(admin))
    resp = await client.post("/api/gift", json={"gift_id": "rose", "stream": "main"}, headers=auth(token))
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "banned"
    await client.post("/api/admin/unban", json={"username": "demo_user", "stream": "main"}, headers=auth(admin))
    await client.post("/api/admin/mute", json={"username": "demo_user"}, headers=auth(admin))  # site-wide
    resp = await client.post("/api/gift", json={"gift_id": "rose", "stream": "main"}, headers=auth(token))
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "muted"
    # An admin sending "as" a muted user is refused too: the sender is who is checked.
    resp = await client.post("/api/gift", json={"from": "demo_user", "gift_id": "rose"}, headers=auth(admin))
    assert (await resp.json())["error"]["code"] == "muted"
    assert (await (await client.get("/metrics")).json())["gift_count"] == 0


async def test_gifts_are_rate_limited_per_user(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(gifts_per_window=3)
    token = await login(app, "demo_user", "demo123")
    await sio_client(token=token, join="main", test_client=app)
    statuses = [(await app.post("/api/gift", json={"gift_id": "rose"}, headers=auth(token))) for _ in range(6)]
    assert [r.status for r in statuses] == [200, 200, 200, 429, 429, 429]
    error = (await statuses[-1].json())["error"]
    assert error["code"] == "rate_limited" and error["retry_after"] > 0
    other = await login(app, "chat_viewer", "viewer789")
    await sio_client(token=other, join="main", test_client=app)
    assert (await app.post("/api/gift", json={"gift_id": 1}, headers=auth(other))).status == 200


async def test_gifts_into_an_ended_stream_are_refused(client: TestClient) -> None:
    streamer = await login(client, "test_streamer", "test456")
    await client.post("/api/streams", json={"stream": "late-show"}, headers=auth(streamer))
    await client.post("/api/streams/late-show/end", headers=auth(streamer))
    token = await login(client, "demo_user", "demo123")
    resp = await client.post("/api/gift", json={"gift_id": "rose", "stream": "late-show"}, headers=auth(token))
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "stream_offline"


async def test_stream_updates_reach_every_socket_and_titles_are_the_owners(
    client: TestClient, sio_client: ClientFactory
) -> None:
    lobby = await sio_client("chat_viewer", "viewer789")  # in no stream: a stream list on screen
    streamer = await login(client, "test_streamer", "test456")
    assert (
        await client.post("/api/streams", json={"stream": "late-show", "title": "Late show"}, headers=auth(streamer))
    ).status == 201
    opened = await lobby.wait_for(lambda: lobby.of("stream_update"))
    assert opened[-1] == {"stream": "late-show", "live": True, "title": "Late show", "owner": "test_streamer"}
    resp = await client.patch(
        "/api/streams/late-show", json={"title": "  Late\nshow \u202eevil "}, headers=auth(streamer)
    )
    assert resp.status == 200 and (await resp.json())["title"] == "Late show evil"  # one plain line
    renamed = await lobby.wait_for(lambda: len(lobby.of("stream_update")) >= 2 and lobby.of("stream_update"))
    assert renamed[-1]["title"] == "Late show evil"
    assert [s["title"] for s in await (await client.get("/streams")).json() if s["stream"] == "late-show"] == [
        "Late show evil"
    ]
    viewer = await login(client, "demo_user", "demo123")
    assert (
        await client.patch("/api/streams/late-show", json={"title": "mine now"}, headers=auth(viewer))
    ).status == 403
    assert (
        await client.patch("/api/streams/late-show", json={"title": "x" * 201}, headers=auth(streamer))
    ).status == 422
    assert (await client.patch("/api/streams/nosuch", json={"title": "x"}, headers=auth(streamer))).status == 404
    assert (await client.post("/api/streams/late-show/end", headers=auth(streamer))).status == 200
    ended = await lobby.wait_for(lambda: len(lobby.of("stream_update")) >= 3 and lobby.of("stream_update"))
    assert ended[-1]["live"] is False
