"""Unique chat's flood count through Redis: shared by processes, and what happens when Redis is down."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from safestream.moderation.modes.config import ChatModes, UniqueChat
from safestream.moderation.modes.crowd import CROWD, REPEAT, RedisCrowds
from safestream.moderation.modes.rule_io import Sender
from safestream.moderation.modes.unique import UniqueChat as UniqueState
from tests.conftest import REDIS_URL, require_service

pytestmark = [pytest.mark.redis]

MODES = ChatModes(unique=UniqueChat(on=True, window_secs=30, crowd_users=2))
PASTA = "everyone paste this message in every chat you visit tonight"


async def test_two_processes_count_one_flood() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    clients = [aioredis.from_url(REDIS_URL) for _ in range(2)]
    try:
        a, b = (UniqueState(RedisCrowds(c, prefix=prefix)) for c in clients)
        for state, user in ((a, "one"), (b, "two")):
            assert state.check("s", PASTA, MODES, Sender(user)) is None
            assert await state.crowds.confirm([state.post_for("s", PASTA, user, MODES)]) == [None]
        # Each process has seen one poster: locally the third is fine, the cluster refuses it.
        assert a.check("s", PASTA + "!", MODES, Sender("three")) is None
        post = a.post_for("s", PASTA + "!", "three", MODES)
        assert await a.crowds.confirm([post]) == [CROWD]
        # A poster again, through the other process: their own repeat (whatever the crowd).
        assert await a.crowds.confirm([a.post_for("s", PASTA + "?", "two", MODES)]) == [REPEAT]
        assert await b.crowds.confirm([b.post_for("other", PASTA, "three", MODES)]) == [None]  # per stream
    finally:
        for c in clients:
            await c.aclose()


async def test_redis_down_falls_back_to_the_local_count() -> None:
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    state = UniqueState(RedisCrowds(dead, prefix="t:"))
    try:
        for user in ("one", "two"):
            assert state.check("s", PASTA, MODES, Sender(user)) is None
            assert await state.crowds.confirm([state.post_for("s", PASTA, user, MODES)]) == [None]
        assert not state.crowds.healthy
        hit = state.check("s", PASTA, MODES, Sender("three"))  # this process's own count still refuses
        assert hit is not None and hit.code == "duplicate"
    finally:
        await dead.aclose()


async def test_a_draft_is_answered_but_never_recorded() -> None:
    """The nudge's ``commit=False``: the user's repeat and the crowd are read, not written."""
    require_service("Redis", "127.0.0.1", 6379)
    client = aioredis.from_url(REDIS_URL)
    try:
        state = UniqueState(RedisCrowds(client, prefix=f"t{uuid.uuid4().hex[:8]}:"))
        post = state.post_for("s", "gg", "one", MODES)  # short: no crowd count, but a repeat all the same
        assert post is not None and post.key == b""
        assert await state.crowds.confirm([post], commit=False) == [None]
        assert await state.crowds.confirm([post], commit=False) == [None]
        assert await state.crowds.confirm([post]) == [None]
        assert await state.crowds.confirm([post], commit=False) == [REPEAT]
        assert state.post_for("s", "gg", "one", ChatModes()) is None  # unique chat off: nothing to ask
    finally:
        await client.aclose()
