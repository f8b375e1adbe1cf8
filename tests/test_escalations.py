"""A message the sentence stage reads waits alone: the room's other messages go out meanwhile, a sender's stay in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from safestream.app_keys import MODERATION_KEY, PIPELINE_KEY
from safestream.moderation.contract import Scorer, Scores
from safestream.moderation.engine import Stage
from tests.conftest import AppFactory, ClientFactory


class _SlowReader(Scorer):
    """An expensive stage at the model boundary: each call takes ``delay`` s, and it reads insults as insults."""

    name = "slow-reader"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.read: list[str] = []

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        await asyncio.sleep(self.delay)
        self.read.extend(texts)
        return [{"insult": 0.99 if "idiot" in text else 0.01} for text in texts]


async def _app_with_slow_reader(make_app: AppFactory, delay: float) -> tuple[object, _SlowReader]:
    app = await make_app(moderation="profanity", rate_limit_per_user=1000)
    reader = _SlowReader(delay)
    app.app[MODERATION_KEY].stages.append(Stage(reader.name, reader, expensive=True))
    return app, reader


async def test_a_slow_read_holds_only_its_own_message(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app, reader = await _app_with_slow_reader(make_app, delay=1.0)
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    alice = await sio_client("demo_user", "demo123", join="main", test_client=app)
    bob = await sio_client("demo_admin", "admin123", join="main", test_client=app)
    read = asyncio.create_task(alice.call("chat", {"message": "you are such a kind person"}))  # second person: read
    await asyncio.sleep(0.05)
    plain = await bob.call("chat", {"message": "what a save"})
    assert plain["ok"] and plain["action"] == "allow"
    assert not read.done()  # bob's message was published while alice's was still being read
    ack = await read
    assert ack["ok"] and ack["action"] == "allow" and reader.read == ["you are such a kind person"]
    await viewer.wait_for(lambda: len(viewer.chats()) >= 2)
    assert [m["message"] for m in viewer.chats()] == ["what a save", "you are such a kind person"]
    assert ack["id"] > plain["id"]  # ids follow publication, so clients still see them rise


async def test_a_senders_messages_stay_in_order_behind_one_being_read(
    make_app: AppFactory, sio_client: ClientFactory
) -> None:
    app, reader = await _app_with_slow_reader(make_app, delay=0.5)
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    alice = await sio_client("demo_user", "demo123", join="main", test_client=app)
    texts = ["you are an idiot", "hello", "good game", "you are great", "bye"]
    acks = await asyncio.gather(*(alice.call("chat", {"message": t}) for t in texts))
    assert [a["ok"] for a in acks] == [True] * 5
    assert acks[0]["action"] != "allow"  # the reader's insult score decided it
    ids = [a["id"] for a in acks]
    assert ids == sorted(ids)  # published in the order sent, though only two were read
    shown = [t for t, a in zip(texts, acks, strict=True) if a["action"] in ("allow", "flag", "mask")]
    await viewer.wait_for(lambda: len(viewer.chats()) >= len(shown))
    assert [m["message"] for m in viewer.chats()] == shown
    assert set(reader.read) == {"you are an idiot", "you are great"}


async def test_a_followers_wait_for_their_senders_read_only(make_app: AppFactory, sio_client: ClientFactory) -> None:
    """Alice's next message goes out when her read is done, not after bob's read queued behind it."""
    app, reader = await _app_with_slow_reader(make_app, delay=0.6)
    alice = await sio_client("demo_user", "demo123", join="main", test_client=app)
    bob = await sio_client("demo_admin", "admin123", join="main", test_client=app)
    alice_read = asyncio.create_task(alice.call("chat", {"message": "you are an idiot"}))
    await asyncio.sleep(0.1)  # alice's read is in hand
    bob_read = asyncio.create_task(bob.call("chat", {"message": "you are great"}))
    await asyncio.sleep(0.1)  # bob's read is queued behind it
    alice_next = asyncio.create_task(alice.call("chat", {"message": "good game"}))
    ack = await alice_next
    assert ack["ok"] and ack["action"] == "allow"
    assert alice_read.done() and not bob_read.done()
    assert (await alice_read)["id"] < ack["id"]
    assert (await bob_read)["ok"] and reader.read == ["you are an idiot", "you are great"]


async def test_held_messages_get_shutting_down_when_the_server_stops_first(
    make_app: AppFactory, sio_client: ClientFactory
) -> None:
    """A read that cannot finish before shutdown answers, and so do the messages held behind it."""
    app, _ = await _app_with_slow_reader(make_app, delay=30.0)
    alice = await sio_client("demo_user", "demo123", join="main", test_client=app)
    calls = [asyncio.create_task(alice.call("chat", {"message": t})) for t in ("you are an idiot", "hello")]
    await asyncio.sleep(0.2)
    pipeline = app.app[PIPELINE_KEY]
    assert pipeline.queued == 2
    await asyncio.wait_for(pipeline.close(timeout=0.2), 10)
    first, second = await asyncio.gather(*calls)
    assert first["error"]["code"] == "shutting_down"  # never read, so never shown
    assert second.get("ok") or second["error"]["code"] == "shutting_down"  # answered, not left hanging
    assert pipeline.queued == 0
