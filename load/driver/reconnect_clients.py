"""The client processes of the reconnect storm (load/bench_reconnect.py).

Each simulated viewer is one raw WebSocket (driver/wire.py) with one task
that: connects, joins the stream, reads frames (answering pings, noting the
highest chat id it saw) and, once armed, reconnects whenever the socket
closes, exactly as static/js/chat.js does: socket.io-client's backoff
(1 s doubling to 8 s, randomization 0.9: the first retry lands anywhere in
0.1-1.9 s), then ``join`` with ``since`` = the highest id seen.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import resource
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from driver.wire import ProtocolError, RawSocket, gather_bounded, join, open_socket
from driver.workers import run_worker

#: A chat payload's id as the server's JSON codec writes it (keys in payload order).
CHAT_ID = re.compile(r'"type":"chat","id":(\d+)')

#: static/js/chat.js: reconnectionDelay, reconnectionDelayMax, randomizationFactor.
DELAY_S, DELAY_MAX_S, RANDOMIZATION = 1.0, 8.0, 0.9
#: socket.io-client's connect timeout: a handshake not done by then is a failed attempt.
ATTEMPT_TIMEOUT_S = 20.0


def backoff(attempt: int, rng: random.Random) -> float:
    """socket.io-client's ``Backoff.duration()`` for the ``attempt``-th retry (0-based), in seconds."""
    ms = DELAY_S * 2**attempt
    deviation = rng.random() * RANDOMIZATION * ms
    ms = ms - deviation if rng.random() < 0.5 else ms + deviation
    return min(ms, DELAY_MAX_S)


@dataclass
class Viewer:
    token: str
    last_id: int = 0
    dropped_at: float = 0.0  # time.monotonic() (system-wide on Linux: the parent compares it)
    back_at: float = 0.0
    attempts: int = 0
    replayed: int = 0
    gap: bool = False
    errors: list[str] = field(default_factory=list)


def worker_main(conn: Connection, base_url: str, stream: str, lag: int) -> None:
    run_worker(conn, functools.partial(_worker, conn, base_url, stream, lag))


async def _worker(conn: Connection, base_url: str, stream: str, lag: int) -> None:
    """Obeys ("connect", tokens) / ("arm",) / ("wait", seconds) / ("close",) / ("exit",) from the parent."""
    loop = asyncio.get_running_loop()
    viewers: list[Viewer] = []
    tasks: list[asyncio.Task[None]] = []
    armed = asyncio.Event()
    all_back = asyncio.Event()
    rng = random.Random()
    back = 0

    async def read(v: Viewer, sock: RawSocket) -> None:
        async for msg in sock.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame: str = msg.data
            if frame == "2":
                await sock.ws.send_str("3")
            elif frame.startswith('42["chat'):
                v.last_id = max(v.last_id, *(int(x) for x in CHAT_ID.findall(frame)), 0)

    def note_history(v: Viewer, ack: dict[str, Any]) -> None:
        ids = [m["id"] for m in ack.get("history", []) if m.get("type") == "chat"]
        v.last_id = max([v.last_id, *ids])

    async def live(v: Viewer, sock: RawSocket) -> None:
        """Reads until the socket closes; once armed, reconnects with backoff and rejoins with ``since``."""
        nonlocal back
        while True:
            await read(v, sock)
            await sock.close()
            if not armed.is_set():
                return
            v.dropped_at = time.monotonic()
            since = max(0, v.last_id - lag)
            attempt = 0
            while True:
                await asyncio.sleep(backoff(attempt, rng))
                attempt += 1
                v.attempts += 1
                try:
                    sock = await open_socket(session, base_url, v.token, deflate=True, timeout=ATTEMPT_TIMEOUT_S)
                    ack = await join_since(sock, since)
                except (OSError, TimeoutError, ProtocolError, aiohttp.ClientError) as exc:
                    if len(v.errors) < 3:
                        v.errors.append(f"{type(exc).__name__}: {str(exc)[:80]}")
                    continue
                v.back_at = time.monotonic()
                v.replayed += len(ack.get("history", []))
                v.gap = v.gap or bool(ack.get("gap"))
                note_history(v, ack)
                back += 1
                if back == len(viewers):
                    all_back.set()
                break

    async def join_since(sock: RawSocket, since: int) -> dict[str, Any]:
        try:
            ack: dict[str, Any] = await sock.call("join", {"stream": stream, "since": since}, ATTEMPT_TIMEOUT_S)
        except BaseException:
            await sock.close()
            raise
        if not ack.get("ok"):
            await sock.close()
            raise ProtocolError(f"join refused: {ack.get('error')}")
        return ack

    async def connect_one(v: Viewer) -> None:
        sock = await open_socket(session, base_url, v.token, deflate=True)
        note_history(v, await join(sock, stream))
        viewers.append(v)
        tasks.append(asyncio.create_task(live(v, sock)))

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True))
    try:
        while True:
            command: tuple[Any, ...] = await loop.run_in_executor(None, conn.recv)
            if command[0] == "connect":
                fresh = [Viewer(t) for t in command[1]]
                results = await gather_bounded([functools.partial(connect_one, v) for v in fresh], 64)
                errors = [repr(r) for r in results if isinstance(r, BaseException)]
                conn.send({"ok": len(fresh) - len(errors), "n_errors": len(errors), "errors": errors[:3]})
            elif command[0] == "arm":
                back = 0
                all_back.clear()
                armed.set()
                usage = resource.getrusage(resource.RUSAGE_SELF)
                conn.send({"armed": len(viewers), "cpu_s": usage.ru_utime + usage.ru_stime})
            elif command[0] == "wait":
                # Until every viewer is back or the deadline: the parent reads who made it.
                if viewers:
                    try:
                        await asyncio.wait_for(all_back.wait(), command[1])
                    except TimeoutError:
                        pass
                usage = resource.getrusage(resource.RUSAGE_SELF)
                conn.send(
                    {
                        "dropped": [v.dropped_at for v in viewers],
                        "back": [v.back_at for v in viewers],
                        "attempts": sum(v.attempts for v in viewers),
                        "replayed": sum(v.replayed for v in viewers),
                        "gaps": sum(v.gap for v in viewers),
                        "errors": [e for v in viewers for e in v.errors][:5],
                        "cpu_s": usage.ru_utime + usage.ru_stime,
                    }
                )
            elif command[0] == "close":
                armed.clear()
                for task in tasks:
                    task.cancel()
                conn.send({"closed": len(viewers)})
            else:
                return
    finally:
        for task in tasks:
            task.cancel()
        await session.close()
