"""Chat over real Socket.IO clients against the real app."""

from __future__ import annotations

import asyncio
import json

import pytest
import socketio
from aiohttp.test_utils import TestClient

from safestream.app_keys import SESSIONS_KEY, SETTINGS_KEY, WRITER_KEY
from safestream.storage.messages import count_messages
from tests.conftest import AppFactory, ClientFactory, auth, login, refusal

CHAT_FIELDS = {"type", "id", "stream", "user", "message", "toxic", "score", "ts"}


async def test_two_viewers_see_each_others_messages(sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    bob = await sio_client("chat_viewer", "viewer789", join="main")

    ack = await alice.call("chat", {"message": "hello everyone", "stream": "main"})
    assert ack["ok"] is True and ack["action"] == "allow" and ack["toxic"] is False
    msg = (await bob.wait_for(lambda: bob.chats()))[0]
    assert set(msg) == CHAT_FIELDS
    assert msg["type"] == "chat" and msg["user"] == "demo_user" and msg["message"] == "hello everyone"
    assert msg["stream"] == "main" and msg["id"] == ack["id"] and msg["ts"].endswith("Z")

    ack = await bob.call("chat", {"message": "hi alice"})  # stream omitted: bob is in exactly one
    assert ack["ok"]
    got = await alice.wait_for(lambda: [m for m in alice.chats() if m["user"] == "chat_viewer"])
    assert got[0]["message"] == "hi alice" and got[0]["id"] > msg["id"]


async def test_clear_abuse_is_blocked_by_default_and_reaches_nobody(sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    bob = await sio_client("chat_viewer", "viewer789", join="main")
    ack = await alice.call("chat", {"message": "shut up you dumb idiot"})
    assert ack["ok"] and ack["toxic"] is True and ack["action"] == "block" and ack["score"] >= 0.7
    await alice.call("chat", {"message": "marker"})
    got = await bob.wait_for(lambda: [m for m in bob.chats() if m["message"] == "marker"])
    assert got and not [m for m in bob.chats() if "idiot" in m["message"]]


async def test_a_flag_policy_shows_toxic_messages_to_everyone_with_a_tag(
    client: TestClient, sio_client: ClientFactory
) -> None:
    """The original design's behaviour, one policy PUT away."""
    token = await login(client, "test_streamer", "test456")
    policy = {"levels": [{"category": "*", "threshold": 0.7, "action": "flag"}]}
    assert (await client.put("/api/streams/main/policy", json=policy, headers=auth(token))).status == 200
    alice = await sio_client("demo_user", "demo123", join="main")
    bob = await sio_client("chat_viewer", "viewer789", join="main")
    ack = await alice.call("chat", {"message": "shut up you dumb idiot"})
    assert ack["ok"] and ack["toxic"] is True and ack["action"] == "flag" and ack["score"] >= 0.7
    msg = (await bob.wait_for(lambda: bob.chats()))[0]
    assert msg["toxic"] is True and msg["score"] >= 0.7 and msg["message"] == "shut up you dumb idiot"


async def test_listed_words_are_masked_even_when_obfuscated(sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    bob = await sio_client("chat_viewer", "viewer789", join="main")
    ack = await alice.call("chat", {"message": "what the f.u.c.k is this sh1t"})
    assert ack["ok"] and ack["action"] == "mask" and ack["toxic"] is True
    msg = (await bob.wait_for(lambda: bob.chats()))[0]
    assert msg["message"] == "what the f****** is this s***" and msg["toxic"] is True


async def test_rooms_are_isolated(client: TestClient, sio_client: ClientFactory) -> None:
    streamer = await login(client, "test_streamer", "test456")
    resp = await client.post("/api/streams", json={"stream": "other", "title": "Other"}, headers=auth(streamer))
    assert resp.status == 201
    in_main = await sio_client("demo_user", "demo123", join="main")
    in_other = await sio_client("chat_viewer", "viewer789", join="other")
    await in_main.call("chat", {"message": "only for main"})
    await in_other.call("chat", {"message": "only for other"})
    await in_main.wait_for(lambda: in_main.chats())
    await in_other.wait_for(lambda: in_other.chats())
    await asyncio.sleep(0.2)
    assert [m["message"] for m in in_main.chats()] == ["only for main"]
    assert [m["message"] for m in in_other.chats()] == ["only for other"]


async def test_join_returns_history_and_viewers(sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    for i in range(3):
        await alice.call("chat", {"message": f"message {i}"})
    bob = await sio_client("chat_viewer", "viewer789")
    ack = await bob.call("join", {"stream": "main"})
    assert ack["ok"] and ack["stream"] == "main" and ack["viewers"] == 2
    assert [m["message"] for m in ack["history"]] == ["message 0", "message 1", "message 2"]


async def test_one_users_messages_keep_their_order(sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    bob = await sio_client("chat_viewer", "viewer789", join="main")
    acks = await asyncio.gather(*(alice.call("chat", {"message": f"n{i}"}) for i in range(15)))
    assert all(a["ok"] for a in acks)
    got = await bob.wait_for(lambda: len(bob.chats()) >= 15 and bob.chats())
    assert [m["message"] for m in got] == [f"n{i}" for i in range(15)]
    assert [m["id"] for m in got] == sorted(m["id"] for m in got)


async def test_several_tabs_count_as_one_viewer(sio_client: ClientFactory) -> None:
    tab1 = await sio_client("demo_user", "demo123", join="main")
    tab2 = await sio_client("demo_user", "demo123")
    ack = await tab2.call("join", {"stream": "main"})
    assert ack["viewers"] == 1
    await tab1.call("chat", {"message": "from tab one"})
    assert (await tab2.wait_for(lambda: tab2.chats()))[0]["message"] == "from tab one"


async def test_presence_goes_to_the_room(sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    await sio_client("chat_viewer", "viewer789", join="main")
    seen = await alice.wait_for(lambda: [p for p in alice.of("presence") if p["viewers"] == 2], timeout=3)
    assert seen[0] == {"stream": "main", "viewers": 2}


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (["not", "an", "object"], "invalid_payload"),
        ("just a string", "invalid_payload"),
        (None, "invalid_payload"),
        ({"message": 42}, "invalid_payload"),
        ({"message": "   \n\t "}, "empty"),
        ({"message": "x" * 501}, "too_long"),
        ({"message": "hi", "stream": "Not A Stream!"}, "invalid_stream"),
        ({"message": "hi", "stream": "elsewhere"}, "not_in_stream"),
    ],
)
async def test_bad_chat_payloads_get_typed_errors(sio_client: ClientFactory, payload: object, code: str) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    ack = await alice.call("chat", payload)
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    ack = await alice.call("chat", {"message": "still fine"})
    assert ack["ok"] is True


async def test_join_errors(sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123")
    assert (await alice.call("chat", {"message": "nowhere"}))["error"]["code"] == "not_in_stream"
    assert (await alice.call("join", {"stream": "nosuch"}))["error"]["code"] == "no_such_stream"
    assert (await alice.call("join", {"stream": "../etc"}))["error"]["code"] == "invalid_stream"
    assert (await alice.call("join", "main"))["error"]["code"] == "invalid_payload"
    assert (await alice.call("leave", {"stream": "main"}))["error"]["code"] == "not_in_stream"
    assert (await alice.call("no_such_event", {}))["error"]["code"] == "unknown_event"


async def test_rate_limit_refuses_with_retry_after(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(rate_limit_per_user=3)
    alice = await sio_client("demo_user", "demo123", join="main", test_client=app)
    acks = [await alice.call("chat", {"message": f"m{i}"}) for i in range(4)]
    assert [a["ok"] for a in acks] == [True, True, True, False]
    assert acks[3]["error"]["code"] == "rate_limited" and acks[3]["error"]["retry_after"] > 0


async def test_connection_needs_a_valid_token(client: TestClient) -> None:
    for auth_arg in (None, {"token": "garbage"}, {"token": 42}, ["not", "a", "dict"]):
        assert await refusal(client, auth_arg) == {"message": "unauthorized"}


async def test_token_in_query_string_works(client: TestClient) -> None:
    token = await login(client, "demo_user", "demo123")
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(str(client.make_url("/")) + f"?token={token}", transports=["websocket"])
    assert (await sio.call("join", {"stream": "main"}))["ok"]
    await sio.disconnect()


async def test_max_connections(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(max_connections=1)
    await sio_client("demo_user", "demo123", test_client=app)
    token = await login(app, "chat_viewer", "viewer789")
    assert await refusal(app, {"token": token}) == {"message": "server_full"}


async def test_messages_are_persisted_to_database_and_jsonl(client: TestClient, sio_client: ClientFactory) -> None:
    alice = await sio_client("demo_user", "demo123", join="main")
    for text in ("first", "second", "fuck this shit"):
        assert (await alice.call("chat", {"message": text}))["ok"]
    writer = client.app[WRITER_KEY]
    for _ in range(100):
        if len(writer) == 0:
            break
        await asyncio.sleep(0.05)
    assert await count_messages(client.app[SESSIONS_KEY], stream="main") == 3
    logs = list(client.app[SETTINGS_KEY].log_dir.glob("chat_*.jsonl"))
    lines = [json.loads(line) for path in logs for line in path.read_text().splitlines()]
    chats = [ln for ln in lines if ln["type"] == "chat"]
    decisions = [ln for ln in lines if ln["type"] == "moderation"]
    assert [c["message"] for c in chats][:2] == ["first", "second"]
    assert [d["action"] for d in decisions] == ["allow", "allow", "mask"]
    assert decisions[2]["message"] == "fuck this shit" and chats[2]["message"] == "f*** this s***"


async def test_reconnecting_client_receives_what_it_missed(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(history_size=3)
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    await sender.call("chat", {"message": "seen"})
    last_seen = (await viewer.wait_for(lambda: viewer.chats()))[-1]["id"]
    await viewer.sio.disconnect()
    missed = [await sender.call("chat", {"message": f"missed {i}"}) for i in range(6)]
    again = await sio_client("chat_viewer", "viewer789", test_client=app)
    ack = await again.call("join", {"stream": "main", "since": last_seen})
    assert [m["id"] for m in ack["history"]] == [a["id"] for a in missed] and ack["gap"] is False
    assert (await again.call("join", {"stream": "main", "since": "yesterday"}))["error"]["code"] == "invalid_payload"
    fresh = await sio_client("demo_admin", "admin123", test_client=app)
    assert [m["message"] for m in (await fresh.call("join", {"stream": "main"}))["history"]] == [
        "missed 3",
        "missed 4",
        "missed 5",
    ]


async def test_bidi_controls_are_removed_before_scoring_and_display(sio_client: ClientFactory) -> None:
    """Issue 9.5: an RLO made a reversed insult display as plain abuse while it was scored as gibberish."""
    alice = await sio_client("demo_user", "demo123", join="main")
    bob = await sio_client("chat_viewer", "viewer789", join="main")
    sent = "\u202etoidi gnikcuf a era uoy\u202c \u2066hi\u2069\u200f"
    ack = await alice.call("chat", {"message": sent})
    assert ack["ok"]
    msg = (await bob.wait_for(lambda: bob.chats()))[0]
    # What viewers get is exactly what was scored: no control can reorder it on screen.
    assert msg["message"] == "toidi gnikcuf a era uoy hi"
