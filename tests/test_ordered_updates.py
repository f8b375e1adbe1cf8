"""A change to a message is ordered after its insert wherever the row is (issue 9, item 6):
a message removed while still in the write-behind buffer stays removed after the
buffer is written and after a restart; a removal made on another cluster node too.
And start-up replays the JSONL log's tail, review changes included (item 24)."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from safestream.app_keys import SESSIONS_KEY
from safestream.settings import Settings
from safestream.storage import messages as message_store
from safestream.storage.jsonl import JsonlLog
from tests.conftest import AppFactory, Recorder, auth, login
from tests.test_cluster import Node, cluster_env, token  # noqa: F401 - cluster_env is a fixture


async def connect(
    client: TestClient, username: str, password: str, *, since: int | None = None
) -> tuple[Recorder, dict[str, Any]]:
    rec = Recorder()
    await rec.sio.connect(
        str(client.make_url("/")),
        auth={"token": await login(client, username, password)},
        transports=["websocket"],
        wait_timeout=5,
    )
    joined = await rec.call("join", {"stream": "main"} if since is None else {"stream": "main", "since": since})
    assert joined["ok"], joined
    return rec, joined


async def test_message_removed_while_buffered_stays_removed_after_restart(make_app: AppFactory) -> None:
    # A flush window far longer than the test: the row is still buffered when it is removed.
    first = await make_app(flush_interval_ms=600_000)
    sender, _ = await connect(first, "demo_user", "demo123")
    kept = await sender.call("chat", {"message": "this one stays"})
    doomed = await sender.call("chat", {"message": "remove me at once"})
    token_ = await login(first, "test_streamer", "test456")
    resp = await first.post("/api/admin/remove", json={"stream": "main", "ids": [doomed["id"]]}, headers=auth(token_))
    assert resp.status == 200
    await sender.sio.disconnect()
    await first.close()  # graceful shutdown writes the buffer

    second = await make_app()
    row = await message_store.get_message(second.app[SESSIONS_KEY], stream="main", seq=doomed["id"])
    assert row is not None and row.review == "removed"
    late, joined = await connect(second, "demo_admin", "admin123")
    assert [m["id"] for m in joined["history"]] == [kept["id"]]
    back, rejoined = await connect(second, "chat_viewer", "viewer789", since=0)
    assert [m["id"] for m in rejoined["history"]] == [kept["id"]]
    for rec in (late, back):
        await rec.sio.disconnect()


async def test_removal_on_another_node_reaches_the_row_in_this_nodes_buffer(
    tmp_path: Path, cluster_env: dict[str, str]
) -> None:
    env = {**cluster_env, "SAFESTREAM_FLUSH_INTERVAL_MS": "3000"}
    a = Node(tmp_path, env)
    b: Node | None = None
    try:
        await a.wait_healthy()
        b = Node(tmp_path, env)
        await b.wait_healthy()
        sender = Recorder()
        await sender.sio.connect(
            a.url, auth={"token": await token(a, "demo_user", "demo123")}, transports=["websocket"]
        )
        await sender.call("join", {"stream": "main"})
        doomed = await sender.call("chat", {"message": "remove me from the other node"})
        async with aiohttp.ClientSession() as http:
            mod = await token(b, "test_streamer", "test456")
            async with http.post(
                b.url + "/api/admin/remove", json={"stream": "main", "ids": [doomed["id"]]}, headers=auth(mod)
            ) as resp:
                assert resp.status == 200
        await sender.sio.disconnect()
    finally:
        for node in (a, b):
            if node is not None:
                node.stop()  # graceful: A writes its buffer
    engine = create_async_engine(cluster_env["DATABASE_URL"])
    try:
        async with engine.connect() as conn:
            review = (
                await conn.execute(
                    text("SELECT review FROM messages WHERE stream='main' AND seq=:s"), {"s": doomed["id"]}
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert review == "removed"


async def test_start_up_restores_the_log_tail_across_rotations_and_a_cut_line(
    make_app: AppFactory, settings: Settings
) -> None:
    log = JsonlLog(settings.log_dir, max_bytes=4096, backups=10)  # rotates every ~15 lines
    ts = "2026-12-01T20:00:00.000Z"
    for seq in range(1, 61):
        log.write_many(
            [
                {
                    "type": "moderation",
                    "id": seq,
                    "stream": "main",
                    "user": "demo_user",
                    "message": f"logged {seq}",
                    "shown": f"logged {seq}",
                    "action": "allow",
                    "toxic": False,
                    "score": 0.01,
                    "categories": {},
                    "terms": [],
                    "failed": False,
                    "ts": ts,
                }
            ]
        )
    log.write_many([{"type": "review", "stream": "main", "ids": [7], "review": "removed", "ts": ts}])
    log.close()
    assert len(list(settings.log_dir.glob("chat_*.jsonl.*"))) >= 2
    with next(settings.log_dir.glob("chat_*.jsonl")).open("ab") as handle:
        handle.write(b'{"type": "moderation", "id": 61, "str')  # SIGKILL mid-line (not acked)

    client = await make_app()
    sessions = client.app[SESSIONS_KEY]
    assert await message_store.count_messages(sessions, stream="main") == 60
    removed = await message_store.get_message(sessions, stream="main", seq=7)
    assert removed is not None and removed.review == "removed"
    sender, joined = await connect(client, "demo_user", "demo123", since=0)
    assert 7 not in [m["id"] for m in joined["history"]] and joined["history"][-1]["id"] == 60
    assert (await sender.call("chat", {"message": "after recovery"}))["id"] == 61
    await sender.sio.disconnect()
    await client.close()

    again = await make_app()  # a second start finds nothing to add
    assert await message_store.count_messages(again.app[SESSIONS_KEY], stream="main") == 61


async def test_a_message_the_log_cannot_record_is_refused_not_acked(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer, _ = await connect(client, "chat_viewer", "viewer789")
    sender, _ = await connect(client, "demo_user", "demo123")

    def disk_full(self: JsonlLog, lines: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(JsonlLog, "write_many", disk_full)
    ack = await sender.call("chat", {"message": "nowhere to write this"})
    assert ack["ok"] is False and ack["error"]["code"] == "busy"
    monkeypatch.undo()
    ok = await sender.call("chat", {"message": "the disk has room again"})
    assert ok["ok"] is True
    await viewer.wait_for(lambda: viewer.chats())
    assert [m["message"] for m in viewer.chats()] == ["the disk has room again"]
    for rec in (viewer, sender):
        await rec.sio.disconnect()
