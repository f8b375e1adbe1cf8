"""The fan-out benchmark's client processes: viewers that count frames, senders on an open-loop schedule.

Every chat text carries ``r=<run> t=<time.time_ns() at send> s=<sender>-<n>``.
Viewers count messages with a substring count of the run marker (no regex and
no JSON per frame: the driver must keep up with 500k deliveries/s on the cores
it shares with the server) and read latency from one frame in N per viewer
against their own wall clock: all processes run on this machine, so
``time.time_ns()`` is one clock. Senders do not wait for acks, and the lag of
their schedule is reported so a saturated load generator cannot pass for a
slow server.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from driver.machine import own_cpu_seconds
from driver.texts import CHAT_LINES
from driver.wire import RawSocket, ack_outcome, gather_bounded, join, open_socket
from driver.workers import run_worker

#: Latency histograms count in 0.1 ms buckets: exact enough for p99, tiny to send between processes.
BUCKET_NS = 100_000
BUCKET_MS = BUCKET_NS / 1e6


@dataclass(frozen=True)
class WorkerArgs:
    role: str  # "viewers" or "senders"
    base_url: str
    tokens: tuple[str, ...]
    stream: str
    run_id: str
    deflate: bool
    rate: float = 0.0  # senders: total msg/s over all senders of this process
    first_index: int = 0
    sample_every: int = 1  # viewers: timestamps are read from one frame in this many (per viewer)


def worker_main(conn: Connection, args: WorkerArgs) -> None:
    """Entry point of a client process: connect, report ready, wait for go, run, report."""
    run_worker(conn, functools.partial(_worker, conn, args))


async def _worker(conn: Connection, args: WorkerArgs) -> None:
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def connect_one(token: str) -> RawSocket:
            sock = await open_socket(session, args.base_url, token, deflate=args.deflate)
            await join(sock, args.stream)
            return sock

        results = await gather_bounded([functools.partial(connect_one, t) for t in args.tokens], 50)
        socks = [r for r in results if isinstance(r, RawSocket)]
        errors = [repr(r) for r in results if not isinstance(r, RawSocket)]
        conn.send(
            {
                "ready": len(socks),
                "errors": errors[:5],
                "n_errors": len(errors),
                "extensions": socks[0].extensions if socks else "",
            }
        )
        go: dict[str, float] = await loop.run_in_executor(None, conn.recv)
        # The shared start is wall-clock (one clock across processes); schedule on the loop's clock.
        t0 = loop.time() + (go["start"] - time.time())
        send_end = t0 + go["duration"]
        recv_end = send_end + go["drain"]
        run = _run_viewers if args.role == "viewers" else _run_senders
        result = await run(socks, args, t0, send_end, recv_end)
        for sock in socks:
            await sock.close()
    result["n_errors"] = len(errors)
    conn.send(result)


async def _cpu_window(t0: float, send_end: float) -> float:
    """This process's CPU seconds between t0 and send_end (the measured window)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, t0 - loop.time()))
    before = own_cpu_seconds()
    await asyncio.sleep(max(0.0, send_end - loop.time()))
    return own_cpu_seconds() - before


async def _run_viewers(
    socks: Sequence[RawSocket], args: WorkerArgs, t0: float, send_end: float, recv_end: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    marker = re.compile(rf"r={args.run_id} t=(\d+)")
    needle = f"r={args.run_id} t="
    every = max(1, args.sample_every)
    received = [0] * len(socks)
    hist: dict[int, int] = {}
    frames = 0

    async def read(i: int, sock: RawSocket) -> None:
        # Latency is read from one frame in ``every`` per viewer (staggered, so samples cover the whole run).
        nonlocal frames
        ws = sock.ws
        time_ns = time.time_ns
        findall = marker.findall
        text = aiohttp.WSMsgType.TEXT
        count = 0
        seen = i % every
        try:
            async for msg in ws:
                if msg.type is not text:
                    continue
                data = msg.data
                if data[0] == "4" and data[1] == "2":
                    n = data.count(needle)
                    if n:
                        count += n
                        frames += 1
                        seen += 1
                        if seen >= every:
                            seen = 0
                            now = time_ns()
                            for stamp in findall(data):
                                bucket = (now - int(stamp)) // BUCKET_NS
                                hist[bucket] = hist.get(bucket, 0) + 1
                elif data == "2":
                    await ws.send_str("3")
        finally:
            received[i] = count

    tasks = [asyncio.create_task(read(i, s)) for i, s in enumerate(socks)]
    cpu_task = asyncio.create_task(_cpu_window(t0, send_end))
    await asyncio.sleep(max(0.0, recv_end - loop.time()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"role": "viewers", "received": received, "frames": frames, "hist": hist, "cpu": await cpu_task}


async def _run_senders(
    socks: Sequence[RawSocket], args: WorkerArgs, t0: float, send_end: float, recv_end: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    n = len(socks)
    acks: Counter[str] = Counter()
    ack_ms: list[float] = []
    lag_ms: list[float] = []
    sent = 0
    pending: list[dict[int, float]] = [{} for _ in socks]

    async def read(i: int, sock: RawSocket) -> None:
        waiting = pending[i]
        async for msg in sock.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            data: str = msg.data
            if data.startswith("43"):
                cut = data.index("[")
                sent_at = waiting.pop(int(data[2:cut]), None)
                if sent_at is not None:
                    ack_ms.append((time.perf_counter() - sent_at) * 1000)
                acks[ack_outcome(json.loads(data[cut:])[0])] += 1
            elif data == "2":
                await sock.ws.send_str("3")

    # Message j of the run is due at t0 + j/rate and belongs to sender j % n: an even stream of
    # messages (not bursts of n), exactly rate x duration of them.
    total = round(args.rate * (send_end - t0))

    async def send(i: int, sock: RawSocket) -> None:
        nonlocal sent
        k = args.first_index + i
        for seq, j in enumerate(range(i, total, n)):
            due = t0 + j / args.rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lag_ms.append(max(0.0, (loop.time() - due) * 1000))
            line = CHAT_LINES[(k + seq) % len(CHAT_LINES)]
            text = f"{line} r={args.run_id} t={time.time_ns()} s={k}-{seq}"
            ack_id = sock.next_ack
            sock.next_ack += 1
            pending[i][ack_id] = time.perf_counter()
            await sock.ws.send_str(
                f"42{ack_id}" + json.dumps(["chat", {"message": text, "stream": args.stream}], separators=(",", ":"))
            )
            sent += 1

    readers = [asyncio.create_task(read(i, s)) for i, s in enumerate(socks)]
    cpu_task = asyncio.create_task(_cpu_window(t0, send_end))
    await asyncio.gather(*(send(i, s) for i, s in enumerate(socks)))
    await asyncio.sleep(max(0.0, recv_end - loop.time()))
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    acks["no_ack"] += sum(len(p) for p in pending)
    return {
        "role": "senders",
        "sent": sent,
        "acks": dict(acks),
        "ack_ms": ack_ms,
        "lag_ms": lag_ms,
        "cpu": await cpu_task,
    }
