"""Gifts (manual and produced) and the stream lifecycle."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, ClientFactory, auth, login


async def test_manual_gift_is_broadcast_and_counted(client: TestClient, sio_client: ClientFactory) -> None:
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    token = await login(client, "demo_user", "demo123")
    resp = await client.post("/api/gift", json={"from": "demo_user", "gift_id": "rose", "amount": 3,
                                                "stream": "main"}, headers=auth(token))
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


async def test_streamer_opens_and_ends_a_stream(client: TestClient, sio_client: ClientFactory) -> None:
    streamer = await login(client, "test_streamer", "test456")
    resp = await client.post("/api/streams", json={"stream": "late-show", "title": "Late show"},
                             headers=auth(streamer))
    assert resp.status == 201
    listed = await (await client.get("/streams")).json()
    assert {"stream": "late-show", "title": "Late show", "owner": "test_streamer", "viewers": 0,
            "live": True} in listed
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
