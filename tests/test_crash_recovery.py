"""SIGKILL of a real server process: no acked message is lost, no id is handed out twice,
and a client that rejoins with ``since`` gets everything it missed (issue 9, item 24).

The flush window is long (1 s) so that, without the write-ahead log, the kill always
lands while acked messages are still only in the write-behind buffer.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import Recorder
from tests.test_cluster import Node
from tests.test_cluster import token as login
from tests.test_durability import FLOOD_ENV, flood

pytestmark = pytest.mark.slow

ENV = {**FLOOD_ENV, "SAFESTREAM_FLUSH_INTERVAL_MS": "1000"}  # the long window of the module docstring


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[[], Node]]:
    """Starts servers on one data/log dir; the finalizer kills by PID whatever still runs."""
    nodes: list[Node] = []

    def start() -> Node:
        node = Node(tmp_path, ENV)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        if node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait(timeout=10)
        node.log.close()


async def observer(node: Node, token: str, since: int | None = None) -> tuple[Recorder, dict[str, Any]]:
    rec = Recorder()
    await rec.sio.connect(node.url, auth={"token": token}, transports=["websocket"])
    joined = await rec.call("join", {"stream": "main"} if since is None else {"stream": "main", "since": since})
    assert joined["ok"], joined
    return rec, joined


async def flood_then_kill(node: Node, seconds: float) -> list[int]:
    """Four senders chat as fast as acks come back until SIGKILL (by PID, mid-flood); every acked id."""

    def kill() -> None:
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(timeout=10)

    return [seq for seq, _ in await flood(node, seconds, kill)]


def stored_ids(tmp: Path) -> list[int]:
    with sqlite3.connect(tmp / "data" / "safestream.db") as db:
        return [row[0] for row in db.execute("SELECT seq FROM messages WHERE stream = 'main'")]


async def test_sigkill_loses_no_acked_message_and_reuses_no_id(
    tmp_path: Path, start_server: Callable[[], Node]
) -> None:
    first = start_server()
    await first.wait_healthy()
    token = await login(first)
    watcher, _ = await observer(first, token)
    acked = await flood_then_kill(first, 2.0)
    assert len(acked) > 50, "the flood produced too few messages to mean anything"
    seen = [m["id"] for m in watcher.chats()]
    last_seen = max(seen)
    with contextlib.suppress(Exception):
        await watcher.sio.disconnect()

    second = start_server()
    await second.wait_healthy()
    rows = stored_ids(tmp_path)
    assert len(rows) == len(set(rows))
    assert set(acked) <= set(rows), f"{len(set(acked) - set(rows))} acked messages lost"

    token = await login(second)
    sender = Recorder()
    await sender.sio.connect(second.url, auth={"token": token}, transports=["websocket"])
    await sender.call("join", {"stream": "main"})
    fresh = [(await sender.call("chat", {"message": f"after restart {i}"}))["id"] for i in range(6)]
    assert min(fresh) > max(acked), "an id acked before the kill was handed out again"

    # The observer comes back with the last id it saw: it gets every acked message it
    # missed, and the new ones, none twice.
    rejoined, joined = await observer(second, token, since=last_seen)
    replay = [m["id"] for m in joined["history"]]
    assert not joined["gap"]
    assert len(replay) == len(set(replay))
    assert {i for i in acked if i > last_seen} | set(fresh) <= set(replay)
    for rec in (sender, rejoined):
        await rec.sio.disconnect()


async def test_restart_recovery_is_idempotent(tmp_path: Path, start_server: Callable[[], Node]) -> None:
    first = start_server()
    await first.wait_healthy()
    acked = await flood_then_kill(first, 1.0)
    for _ in range(2):  # recovered once, then a second start finds nothing to add
        node = start_server()
        await node.wait_healthy()
        node.proc.kill()
        node.proc.wait(timeout=10)
        rows = stored_ids(tmp_path)
        assert len(rows) == len(set(rows)) and set(acked) <= set(rows)


async def test_a_removal_survives_sigkill_with_its_message(tmp_path: Path, start_server: Callable[[], Node]) -> None:
    first = start_server()
    await first.wait_healthy()
    token = await login(first)
    sender, _ = await observer(first, token)
    kept = await sender.call("chat", {"message": "this one stays"})
    doomed = await sender.call("chat", {"message": "remove me, then crash"})
    async with aiohttp.ClientSession() as http:
        async with http.post(
            first.url + "/auth/login", data={"username": "test_streamer", "password": "test456"}
        ) as resp:
            mod = (await resp.json())["access_token"]
        async with http.post(
            first.url + "/api/admin/remove",
            json={"stream": "main", "ids": [doomed["id"]]},
            headers={"Authorization": f"Bearer {mod}"},
        ) as resp:
            assert resp.status == 200
    first.proc.send_signal(signal.SIGKILL)  # within the flush window: both rows were only buffered
    first.proc.wait(timeout=10)

    second = start_server()
    await second.wait_healthy()
    with sqlite3.connect(tmp_path / "data" / "safestream.db") as db:
        reviews = dict(db.execute("SELECT seq, review FROM messages WHERE stream = 'main'").fetchall())
    assert reviews == {kept["id"]: None, doomed["id"]: "removed"}
    late, joined = await observer(second, await login(second), since=0)
    assert [m["id"] for m in joined["history"]] == [kept["id"]]
    await late.sio.disconnect()
