"""Per-stream policy and the review queue, end to end over Socket.IO and REST."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from safestream.api.moderation import Action, Category
from safestream.app_keys import SESSIONS_KEY
from safestream.moderation.contract import LABELS
from safestream.moderation.policy import ACTIONS
from safestream.storage import audit
from tests.conftest import ClientFactory, Recorder, auth, login

INSULT = "shut up you dumb idiot"  # alt-profanity-check scores it ~1.0, no listed word
CLEAN = "what a great stream"


async def set_policy(
    client: TestClient,
    policy: dict[str, Any],
    user: str = "test_streamer",
    password: str = "test456",
    stream: str = "main",
) -> Any:
    token = await login(client, user, password)
    return await client.put(f"/api/streams/{stream}/policy", json=policy, headers=auth(token))


def test_api_literals_match_the_policy_vocabulary() -> None:
    assert set(typing.get_args(Action)) == set(ACTIONS)
    assert set(typing.get_args(Category)) == {"*", *LABELS}


@pytest.mark.parametrize(
    ("action", "visible", "shown"),
    [
        ("allow", True, INSULT),
        ("flag", True, INSULT),
        ("mask", True, "*" * 4 + " " + "**" + " " + "***" + " " + "****" + " " + "*****"),
        ("hold", False, None),
        ("block", False, None),
    ],
)
async def test_every_policy_action_end_to_end(
    client: TestClient, sio_client: ClientFactory, action: str, visible: bool, shown: str | None
) -> None:
    resp = await set_policy(client, {"levels": [{"category": "*", "threshold": 0.5, "action": action}]})
    assert resp.status == 200, await resp.text()
    sender = await sio_client("demo_user", "demo123", join="main")
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    ack = await sender.call("chat", {"message": INSULT})
    assert ack["ok"] is True and ack["action"] == action and ack["toxic"] is (action != "allow")
    await sender.call("chat", {"message": CLEAN})  # a marker: everything before it has been delivered
    got = await viewer.wait_for(lambda: [m for m in viewer.chats() if m["message"] == CLEAN])
    insults = [m for m in viewer.chats() if m["id"] == ack["id"]]
    assert bool(insults) is visible
    if visible:
        assert insults[0]["message"] == shown and insults[0]["toxic"] is (action != "allow")
    assert got[0]["toxic"] is False


async def test_stream_terms_and_term_action(client: TestClient, sio_client: ClientFactory) -> None:
    policy = {
        "levels": [{"category": "*", "threshold": 0.99, "action": "flag"}],
        "blocked_terms": ["spoiler*"],
        "term_action": "block",
    }
    assert (await set_policy(client, policy)).status == 200
    sender = await sio_client("demo_user", "demo123", join="main")
    assert (await sender.call("chat", {"message": "SPOILERS: he dies"}))["action"] == "block"
    assert (await sender.call("chat", {"message": "no sp0iler here"}))["action"] == "block"
    assert (await sender.call("chat", {"message": "nice play"}))["action"] == "allow"


async def test_policy_is_stored_and_validated(client: TestClient) -> None:
    bad = await set_policy(
        client, {"levels": [{"category": "rudeness", "threshold": 2, "action": "explode"}], "blocked_terms": ["**"]}
    )
    assert bad.status == 422
    fields = {e["field"] for e in (await bad.json())["error"]["fields"]}
    assert {"levels.0.category", "levels.0.threshold", "levels.0.action", "blocked_terms"} <= fields
    ok = await set_policy(
        client, {"levels": [{"category": "threat", "threshold": 0.4, "action": "hold"}], "slow_mode_secs": 2}
    )
    assert ok.status == 200
    token = await login(client, "demo_admin", "admin123")
    stored = await (await client.get("/api/streams/main/policy", headers=auth(token))).json()
    assert stored["custom"] is True and stored["slow_mode_secs"] == 2
    assert stored["levels"] == [{"category": "threat", "threshold": 0.4, "action": "hold"}]


async def test_policy_routes_refuse_viewers_and_other_streamers(client: TestClient) -> None:
    viewer = await login(client, "demo_user", "demo123")
    assert (await client.get("/api/streams/main/policy", headers=auth(viewer))).status == 403
    assert (await client.get("/api/streams/main/review", headers=auth(viewer))).status == 403
    admin = await login(client, "demo_admin", "admin123")
    await client.post("/auth/register", json={"username": "rival", "password": "rival-pw"})
    from safestream.app_keys import SESSIONS_KEY
    from safestream.storage import users

    await users.set_role(client.app[SESSIONS_KEY], username="rival", role="streamer")
    rival = await login(client, "rival", "rival-pw")
    assert (await client.get("/api/streams/main/policy", headers=auth(rival))).status == 403
    assert (await client.get("/api/streams/main/policy", headers=auth(admin))).status == 200
    assert (await client.get("/api/streams/main/policy")).status == 401


async def test_slow_mode(client: TestClient, sio_client: ClientFactory) -> None:
    await set_policy(client, {"levels": [{"category": "*", "threshold": 0.7, "action": "flag"}], "slow_mode_secs": 30})
    sender = await sio_client("demo_user", "demo123", join="main")
    assert (await sender.call("chat", {"message": "one"}))["ok"] is True
    ack = await sender.call("chat", {"message": "two"})
    assert ack["error"]["code"] == "rate_limited" and 29 < ack["error"]["retry_after"] <= 30
    other = await sio_client("chat_viewer", "viewer789", join="main")
    assert (await other.call("chat", {"message": "mine"}))["ok"] is True


async def test_strikes_escalate_to_a_timed_mute(client: TestClient, sio_client: ClientFactory) -> None:
    await set_policy(
        client,
        {
            "levels": [{"category": "*", "threshold": 0.7, "action": "flag"}],
            "strikes": {"count": 2, "window_secs": 60, "mute_secs": 30},
        },
    )
    sender = await sio_client("demo_user", "demo123", join="main")
    for _ in range(2):
        assert (await sender.call("chat", {"message": INSULT}))["action"] == "flag"
    notice = (await sender.wait_for(lambda: sender.of("muted")))[0]
    assert notice["stream"] == "main" and notice["until"]
    ack = await sender.call("chat", {"message": CLEAN})
    assert ack["error"]["code"] == "muted"


async def _held(client: TestClient, sender: Recorder) -> tuple[int, str]:
    await set_policy(client, {"levels": [{"category": "*", "threshold": 0.5, "action": "hold"}]})
    ack = await sender.call("chat", {"message": "fuck you " + INSULT})
    assert ack["action"] == "hold"
    return ack["id"], await login(client, "test_streamer", "test456")


async def test_review_approve_publishes_through_the_send_path(client: TestClient, sio_client: ClientFactory) -> None:
    sender = await sio_client("demo_user", "demo123", join="main")
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    held_id, token = await _held(client, sender)
    queue = await (await client.get("/api/streams/main/review", headers=auth(token))).json()
    assert [(q["id"], q["user"]) for q in queue] == [(held_id, "demo_user")] and queue[0]["score"] > 0.5
    resp = await client.post(f"/api/streams/main/review/{held_id}", json={"decision": "approve"}, headers=auth(token))
    result = await resp.json()
    assert resp.status == 200 and result["published_id"] == held_id  # under the id it was held with
    msg = (await viewer.wait_for(lambda: viewer.chats()))[0]
    # Rendered as the send path renders it: the listed word is masked (term_action=mask).
    assert msg["id"] == held_id and msg["message"].startswith("f*** you") and msg["toxic"]
    assert "fuck" not in msg["message"]
    outcome = (await sender.wait_for(lambda: sender.of("review_result")))[0]
    assert outcome["id"] == held_id and outcome["decision"] == "approved" and outcome["action"] == "mask"
    # History (and so every reconnect and restart) now has it, masked, once.
    late = await sio_client("demo_admin", "admin123")
    history = (await late.call("join", {"stream": "main"}))["history"]
    assert [(m["id"], m["message"]) for m in history] == [(held_id, msg["message"])]
    again = await client.post(f"/api/streams/main/review/{held_id}", json={"decision": "deny"}, headers=auth(token))
    assert again.status == 409
    assert await (await client.get("/api/streams/main/review", headers=auth(token))).json() == []


async def test_review_deny_and_permit(client: TestClient, sio_client: ClientFactory) -> None:
    sender = await sio_client("demo_user", "demo123", join="main")
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    held_id, token = await _held(client, sender)
    resp = await client.post(f"/api/streams/main/review/{held_id}", json={"decision": "deny"}, headers=auth(token))
    assert resp.status == 200
    await sender.call("chat", {"message": CLEAN})
    await viewer.wait_for(lambda: viewer.chats())
    assert [m["message"] for m in viewer.chats()] == [CLEAN]

    await set_policy(
        client, {"levels": [{"category": "*", "threshold": 0.99, "action": "flag"}], "term_action": "hold"}
    )
    ack = await sender.call("chat", {"message": "crap"})
    assert ack["action"] == "hold"
    resp = await client.post(
        f"/api/streams/main/review/{ack['id']}", json={"decision": "approve_permit"}, headers=auth(token)
    )
    assert (await resp.json())["permitted"] == ["crap"]
    assert (await sender.call("chat", {"message": "crap"}))["action"] in ("allow", "flag")


async def test_ban_remove_and_unban(client: TestClient, sio_client: ClientFactory) -> None:
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    sender = await sio_client("demo_user", "demo123", join="main")
    ack = await sender.call("chat", {"message": "delete me"})
    await viewer.wait_for(lambda: viewer.chats())
    token = await login(client, "test_streamer", "test456")
    resp = await client.post("/api/admin/remove", json={"stream": "main", "ids": [ack["id"]]}, headers=auth(token))
    assert resp.status == 200
    removed = await viewer.wait_for(lambda: viewer.of("message_removed"))
    assert removed[0] == {"stream": "main", "ids": [ack["id"]]}
    late = await sio_client("demo_admin", "admin123")
    assert (await late.call("join", {"stream": "main"}))["history"] == []

    resp = await client.post("/api/admin/ban", json={"username": "demo_user", "stream": "main"}, headers=auth(token))
    assert resp.status == 200
    # A stream ban takes the user out of that stream only: kicked, still connected.
    await sender.wait_for(lambda: sender.of("kicked"))
    assert sender.sio.connected
    assert (await sender.call("chat", {"message": "still here?", "stream": "main"}))["error"]["code"] == "not_in_stream"
    back = await sio_client("demo_user", "demo123")
    assert (await back.call("join", {"stream": "main"}))["error"]["code"] == "banned"
    await client.post("/api/admin/unban", json={"username": "demo_user", "stream": "main"}, headers=auth(token))
    assert (await back.call("join", {"stream": "main"}))["ok"] is True


async def test_a_refused_permit_loses_nothing(client: TestClient, sio_client: ClientFactory) -> None:
    """Bad terms are refused before the message is claimed: it stays pending and can still be approved."""
    sender = await sio_client("demo_user", "demo123", join="main")
    viewer = await sio_client("chat_viewer", "viewer789", join="main")
    held_id, token = await _held(client, sender)
    for terms, code in ((["foo*bar"], "invalid_terms"), (["x" * 20_000], "invalid_terms")):
        resp = await client.post(
            f"/api/streams/main/review/{held_id}",
            json={"decision": "approve_permit", "terms": terms},
            headers=auth(token),
        )
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["error"]["code"] == code
    queue = await (await client.get("/api/streams/main/review", headers=auth(token))).json()
    assert [q["id"] for q in queue] == [held_id]  # still waiting
    policy = await (await client.get("/api/streams/main/policy", headers=auth(token))).json()
    assert policy["permitted_terms"] == []
    resp = await client.post(f"/api/streams/main/review/{held_id}", json={"decision": "approve"}, headers=auth(token))
    assert resp.status == 200
    msg = (await viewer.wait_for(lambda: viewer.chats()))[0]
    assert msg["id"] == held_id


async def test_denial_reaches_the_sender_and_unreviewed_messages_expire(
    make_app: Any, sio_client: ClientFactory
) -> None:
    client = await make_app(review_expiry_secs=1.0)
    sender = await sio_client("demo_user", "demo123", join="main", test_client=client)
    held_id, token = await _held(client, sender)
    resp = await client.post(f"/api/streams/main/review/{held_id}", json={"decision": "deny"}, headers=auth(token))
    assert resp.status == 200
    denied = (await sender.wait_for(lambda: sender.of("review_result")))[0]
    assert denied["id"] == held_id and denied["decision"] == "denied"

    ack = await sender.call("chat", {"message": INSULT})
    assert ack["action"] == "hold" and ack["reason"]
    expired = await sender.wait_for(lambda: [e for e in sender.of("review_result") if e["id"] == ack["id"]], timeout=8)
    assert expired[0]["decision"] == "expired"
    assert await (await client.get("/api/streams/main/review", headers=auth(token))).json() == []
    rows = await audit.recent_actions(client.app[SESSIONS_KEY], limit=10, stream="main")
    assert any(r.action == "review_expired" and r.actor == "automod" and r.target == "demo_user" for r in rows)
