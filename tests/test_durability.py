"""Durability with a real server process: SIGTERM loses no acknowledged message; after
SIGKILL every acked message is in the write-ahead JSONL log (the database may lag by one
flush window until the next start-up recovers it, see test_crash_recovery), and
import-jsonl rebuilds the database idempotently."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import socketio

from tests.test_cluster import Node
from tests.test_cluster import token as login

pytestmark = pytest.mark.slow

FLUSH_MS = 200


# The floods need a few hundred acks in two seconds: the lexical chain keeps each round trip
# short (the sentence stage's speed is measured in load/bench_sentence.py, not here).
FLOOD_ENV = {
    "SAFESTREAM_MODERATION": "profanity",
    "SAFESTREAM_ARGON2_TIME_COST": "1",
    "SAFESTREAM_ARGON2_MEMORY_KIB": "1024",
    "SAFESTREAM_RATE_LIMIT_PER_USER": "100000",
    "GIFT_INTERVAL_SECS": "3600",
}


def server(tmp: Path) -> Node:
    return Node(tmp, {**FLOOD_ENV, "SAFESTREAM_FLUSH_INTERVAL_MS": str(FLUSH_MS)})


async def flood(node: Node, stop_after: float, on_stop: Callable[[], object]) -> list[tuple[int, float]]:
    """Four senders chat as fast as acks come back; ``on_stop`` runs after ``stop_after`` s (a signal,
    say) and the senders carry on until the server stops answering. (id, ack time) of every ok ack."""
    bearer = await login(node)
    acked: list[tuple[int, float]] = []
    clients = []
    for _ in range(4):
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(node.url, auth={"token": bearer}, transports=["websocket"])
        await sio.call("join", {"stream": "main"})
        clients.append(sio)

    async def sender(sio: socketio.AsyncClient, n: int) -> None:
        i = 0
        while sio.connected:
            try:
                ack = await sio.call("chat", {"message": f"durable {n}-{i}"}, timeout=5)
            except (socketio.exceptions.SocketIOError, ConnectionError):
                return
            if ack.get("ok"):
                acked.append((ack["id"], time.monotonic()))
            i += 1

    tasks = [asyncio.create_task(sender(sio, n)) for n, sio in enumerate(clients)]
    await asyncio.sleep(stop_after)
    on_stop()
    await asyncio.wait(tasks, timeout=20)
    for sio in clients:
        with contextlib.suppress(Exception):  # the server may be gone (SIGKILL)
            await sio.disconnect()
    return acked


def stored_ids(tmp: Path) -> set[int]:
    with sqlite3.connect(tmp / "data" / "safestream.db") as db:
        return {row[0] for row in db.execute("SELECT seq FROM messages WHERE stream = 'main'")}


def logged_ids(tmp: Path) -> set[int]:
    ids = set()
    for path in (tmp / "logs").glob("chat_*.jsonl*"):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by SIGKILL
            if record.get("type") == "moderation":
                ids.add(record["id"])
    return ids


async def test_sigterm_under_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    node = server(tmp_path)
    await node.wait_healthy()
    acked = await flood(node, 2.0, lambda: node.proc.send_signal(signal.SIGTERM))
    assert node.proc.wait(timeout=30) == 0
    node.log.close()
    ids = {i for i, _ in acked}
    assert len(ids) > 50, "the flood produced too few messages to mean anything"
    assert ids <= stored_ids(tmp_path)
    assert ids <= logged_ids(tmp_path)


async def test_sigkill_loses_at_most_one_flush_window_and_import_restores(tmp_path: Path) -> None:
    node = server(tmp_path)
    await node.wait_healthy()
    killed_at: list[float] = []

    def kill() -> None:
        killed_at.append(time.monotonic())
        node.proc.kill()

    acked = await flood(node, 2.0, kill)
    node.proc.wait(timeout=10)
    node.log.close()
    stored = stored_ids(tmp_path)
    # Acked more than one flush window (plus scheduling slack) before the kill: must be stored.
    window = FLUSH_MS / 1000 + 0.3
    old = {i for i, t in acked if t < killed_at[0] - window}
    assert old and old <= stored
    lost = {i for i, _ in acked} - stored
    assert all(t >= killed_at[0] - window for i, t in acked if i in lost)
    assert {i for i, _ in acked} <= logged_ids(tmp_path)  # the log is written before the ack

    env = {**os.environ, "SAFESTREAM_DATA_DIR": str(tmp_path / "data")}
    run = [sys.executable, "-m", "safestream", "import-jsonl", str(tmp_path / "logs")]
    first = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    after = stored_ids(tmp_path)
    assert logged_ids(tmp_path) <= after
    second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert second.returncode == 0 and " 0 added" in second.stdout
    assert stored_ids(tmp_path) == after
