"""The server with a transformer stage: the tiny Detoxify checkpoint behind the cascade."""

from __future__ import annotations

from pathlib import Path

import pytest

from safestream.app_keys import MODERATION_KEY
from tests.conftest import AppFactory, ClientFactory
from tests.tiny_fixtures import tiny_ckpt, tiny_root  # noqa: F401 - fixtures


async def test_chat_through_profanity_then_detoxify(
    make_app: AppFactory, sio_client: ClientFactory, tiny_ckpt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    app = await make_app(moderation=f"profanity,detoxify:{tiny_ckpt}", cascade="all")
    engine = app.app[MODERATION_KEY]
    assert [s.name for s in engine.stages] == ["profanity", f"detoxify:{tiny_ckpt}"]
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    ack = await sender.call("chat", {"message": "hello friend have a nice day"})
    assert ack["ok"] and ack["action"] == "allow"
    assert (await viewer.wait_for(lambda: viewer.chats()))[0]["message"] == "hello friend have a nice day"
    assert engine.stages[1].calls >= 1 and engine.stages[1].failures == 0


async def test_disable_detoxify_drops_the_transformer_stage(make_app: AppFactory, tiny_ckpt: Path) -> None:
    app = await make_app(moderation=f"profanity,detoxify:{tiny_ckpt}", disable_detoxify=True)
    assert [s.name for s in app.app[MODERATION_KEY].stages] == ["profanity"]


async def test_a_quiet_room_gets_the_verdict_a_busy_one_gets(
    make_app: AppFactory, sio_client: ClientFactory, tiny_ckpt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default cascade reads a text with the model only where the router asks, at any load:
    a lone plain line in an idle room is not sent to the transformer (``auto`` sent it), one aimed
    at a person is."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    app = await make_app(moderation=f"profanity,detoxify:{tiny_ckpt}")
    transformer = app.app[MODERATION_KEY].stages[1]
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    ack = await sender.call("chat", {"message": "hello friend have a nice day"})
    assert ack["ok"] and ack["action"] == "allow"
    assert transformer.calls == 0
    await sender.call("chat", {"message": "you are such a clown"})
    assert transformer.calls == 1
