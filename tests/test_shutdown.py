"""A real server process under SIGTERM: it stops within Docker's 10 s grace whatever its
clients do, every chat sent meanwhile gets an answer, and its log holds no token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from safestream.runner import EXIT_STATUS
from tests.test_cluster import Node
from tests.test_cluster import token as login

pytestmark = pytest.mark.slow

ENV = {
    "SAFESTREAM_ARGON2_TIME_COST": "1",
    "SAFESTREAM_ARGON2_MEMORY_KIB": "1024",
    "GIFT_INTERVAL_SECS": "3600",
    "SAFESTREAM_RATE_LIMIT_PER_USER": "100000",
    "SAFESTREAM_LOG_LEVEL": "INFO",
}
DOCKER_GRACE = 10.0


async def sigterm_and_wait(node: Node) -> tuple[int, float]:
    started = time.monotonic()
    node.proc.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(node.proc.wait, DOCKER_GRACE + 20)  # past that, the reaper kills it
    return code, time.monotonic() - started


async def test_sigterm_with_an_orphaned_long_poll_exits_within_docker_grace(tmp_path: Path) -> None:
    node = Node(tmp_path, ENV)
    await node.wait_healthy()
    token = await login(node)
    live = socketio.AsyncClient(reconnection=False)
    await live.connect(node.url, auth={"token": token}, transports=["websocket"])
    base = node.url + "/socket.io/"
    async with aiohttp.ClientSession() as http:
        async with http.get(base, params={"EIO": "4", "transport": "polling"}) as r:
            sid = json.loads((await r.text())[1:])["sid"]
        session = {"EIO": "4", "transport": "polling", "sid": sid}
        async with http.post(base, params=session, data="40" + json.dumps({"token": token})) as r:
            assert r.status == 200
        async with http.get(base, params=session) as r:
            assert (await r.text()).startswith("40")

        async def long_poll() -> int:
            async with http.get(base, params=session, timeout=aiohttp.ClientTimeout(total=60)) as r:
                await r.read()
                return r.status

        pending = asyncio.create_task(long_poll())
        # A GET left open by a client that went away without a goodbye (a goodbye now ends
        # the poll at once: tests/test_poll.py): the drain must not wait for it.
        await asyncio.sleep(0.6)
        assert not pending.done()
        code, elapsed = await sigterm_and_wait(node)
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):  # any end will do, a reset too
            await asyncio.wait_for(pending, 5)
    node.log.close()
    assert code == 0, (tmp_path / f"node-{node.port}.log").read_text()[-2000:]
    assert elapsed < DOCKER_GRACE, f"SIGTERM took {elapsed:.1f} s"
    assert elapsed < 3.0, f"SIGTERM took {elapsed:.1f} s with nothing left to drain"


async def test_every_chat_sent_during_shutdown_gets_an_answer(tmp_path: Path) -> None:
    node = Node(tmp_path, ENV)
    await node.wait_healthy()
    token = await login(node)
    clients = []
    for _ in range(4):
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(node.url, auth={"token": token}, transports=["websocket"])
        assert (await sio.call("join", {"stream": "main"}))["ok"]
        clients.append(sio)
    answers: dict[str, Any] = {}  # text -> ack, or "unanswered", or "not sent"
    refused = [False] * len(clients)

    async def one(sio: socketio.AsyncClient, n: int, text: str) -> None:
        try:
            ack = await sio.call("chat", {"message": text}, timeout=10)
        except socketio.exceptions.TimeoutError:
            answers[text] = "unanswered"
            return
        except (socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
            answers[text] = "not sent"  # the client knew: it was disconnected before sending
            return
        answers[text] = ack
        if not ack["ok"] and ack["error"]["code"] == "shutting_down":
            refused[n] = True  # a real client stops here and resends elsewhere

    async def sender(sio: socketio.AsyncClient, n: int) -> None:
        calls, i = [], 0
        while not refused[n] and sio.connected:
            calls.append(asyncio.create_task(one(sio, n, f"shutdown {n}-{i}")))
            i += 1
            await asyncio.sleep(0.01)  # pipelined: many calls in flight at SIGTERM
        await asyncio.gather(*calls)

    senders = [asyncio.create_task(sender(sio, n)) for n, sio in enumerate(clients)]
    await asyncio.sleep(1.5)
    code, elapsed = await sigterm_and_wait(node)
    await asyncio.wait_for(asyncio.gather(*senders), 20)
    for sio in clients:
        if sio.connected:
            await sio.disconnect()
    node.log.close()
    assert code == 0 and elapsed < DOCKER_GRACE, (code, elapsed)

    acked = {text: a["id"] for text, a in answers.items() if isinstance(a, dict) and a["ok"]}
    refusals = [a["error"] for a in answers.values() if isinstance(a, dict) and not a["ok"]]
    unanswered = [text for text, a in answers.items() if a == "unanswered"]
    cut_off = [text for text, a in answers.items() if a == "not sent"]
    # SIGTERM came mid-stream: later chats were refused, or (on a loaded machine, when the sessions
    # closed before a sender's next call) never sent, and the client knew.
    assert len(acked) > 50 and (refusals or cut_off), (len(acked), refusals[:3], len(cut_off))
    assert unanswered == []
    assert all(e["code"] == "shutting_down" and e["retry_after"] > 0 for e in refusals), refusals[:5]
    with sqlite3.connect(tmp_path / "data" / "safestream.db") as db:
        stored = dict(db.execute("SELECT text, seq FROM messages WHERE text LIKE 'shutdown %'").fetchall())
    assert stored == acked  # acked means stored (same id); refused means not stored


async def test_sigterm_ends_the_process_in_time_even_when_a_thread_is_stuck(tmp_path: Path) -> None:
    # A model thread that never returns cannot be joined: the interpreter's exit would
    # wait for it forever. The exit deadline ends the process anyway, with status 70.
    root = str(Path(__file__).resolve().parents[1])
    node = Node(
        tmp_path,
        {
            **ENV,
            "SAFESTREAM_MODERATION": "tests.failing_scorer:StuckScorer",
            "SAFESTREAM_MODERATION_TIMEOUT_SECS": "0.5",
            "SAFESTREAM_SHUTDOWN_GRACE_SECS": "3",
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        },
    )
    await node.wait_healthy()
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(node.url, auth={"token": await login(node)}, transports=["websocket"])
    assert (await sio.call("join", {"stream": "main"}))["ok"]
    ack = await sio.call("chat", {"message": "the model never answers"}, timeout=10)
    assert ack["ok"] and ack["action"] == "hold"  # the failure verdict: never a silent allow
    code, elapsed = await sigterm_and_wait(node)
    if sio.connected:
        await sio.disconnect()
    node.log.close()
    log = (tmp_path / f"node-{node.port}.log").read_text()
    assert elapsed < 3 + 2, f"SIGTERM took {elapsed:.1f} s"
    assert code == EXIT_STATUS and "shutdown did not finish within 3 s" in log, log[-2000:]
    assert "stopped in" in log  # the graceful steps themselves had finished: only the thread was stuck


async def raw_http(node: Node, request: bytes) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    try:
        writer.write(request)
        await writer.drain()
        return (await asyncio.wait_for(reader.read(4096), 5)).decode(errors="replace")
    finally:
        writer.close()


async def test_no_version_in_any_response_and_no_token_in_the_log(tmp_path: Path) -> None:
    node = Node(tmp_path, ENV)
    await node.wait_healthy()
    # Requests aiohttp answers itself, before the app sees them, name no version either.
    for request in (
        b"GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ):
        head = (await raw_http(node, request)).split("\r\n\r\n")[0]
        assert "\r\nServer: SafeStream" in head and "aiohttp" not in head and "Python" not in head, head
    token = await login(node)
    # A client of the original design: the token in the URL, long-polling (a request per poll).
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(f"{node.url}?token={token}", transports=["polling"])
    assert (await sio.call("join", {"stream": "main"}))["ok"]
    await sio.disconnect()
    async with aiohttp.ClientSession() as http:
        for path in (f"/healthz?access_token={token}", f"/chat?x=1&token={token}&y=2", "/no/such?password=hunter22"):
            async with http.get(node.url + path, headers={"Referer": f"{node.url}/?token={token}"}) as r:
                await r.read()
        async with http.get(node.url + "/auth/me", headers={"Authorization": "Bearer " + token + "x"}) as r:
            assert r.status == 401
    code, _ = await sigterm_and_wait(node)
    node.log.close()
    log = (tmp_path / f"node-{node.port}.log").read_text()
    assert code == 0
    assert "aiohttp.access" in log and "token=[redacted]" in log and "access_token=[redacted]" in log
    assert token not in log and token.split(".")[2] not in log and "hunter22" not in log
