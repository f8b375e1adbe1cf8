"""P3: cross-process delivery latency with two server processes sharing Redis and PostgreSQL.

    python load/bench_cluster.py                 # 500 msg/s for 15 s, 50 viewers, 3 runs
    python load/bench_cluster.py --rate 1000 --runs 1

Senders connect to process A, viewers to process B, so every delivery crosses
Redis (python-socketio's Redis manager). The same load with viewers on A is
measured too, as the in-process baseline. Needs PostgreSQL at
127.0.0.1:5432 (trust auth; a throw-away database is created and dropped)
and Redis at 127.0.0.1:6379. Target: p99 <= 50 ms at 500 msg/s.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
import uuid

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from driver.accounts import register_and_login
from driver.server import start_server
from driver.stats import percentiles
from driver.wire import VISIBLE, RawSocket, chat_messages, open_joined, parse_ack

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"


async def pg(sql: str) -> None:
    engine = create_async_engine(f"{PG}/test", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def measure(
    sender_url: str, viewer_url: str, tokens: list[str], viewers: int, rate: float, duration: float
) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    acked_visible: set[int] = set()
    received: list[set[int]] = [set() for _ in range(viewers)]
    async with aiohttp.ClientSession() as session:
        vsocks = await open_joined(session, viewer_url, tokens[:viewers], "main")
        [ssock] = await open_joined(session, sender_url, tokens[-1:], "main")
        stop = asyncio.Event()

        async def view(i: int, sock: RawSocket) -> None:
            async for frame in sock.frames(stop, poll=0.5):
                now = time.time_ns()
                for msg in chat_messages(frame):
                    if msg["message"].startswith("p3 t="):
                        latencies.append((now - int(msg["message"].split()[1][2:])) / 1e6)
                        received[i].add(msg["id"])

        async def acks() -> None:
            async for frame in ssock.frames(stop, poll=0.5):
                ack = (parse_ack(frame) or (0, {}))[1]
                if ack.get("ok") and ack.get("action") in VISIBLE:
                    acked_visible.add(ack["id"])

        tasks = [asyncio.create_task(view(i, s)) for i, s in enumerate(vsocks)] + [asyncio.create_task(acks())]
        interval, next_at, until = 1.0 / rate, time.monotonic(), time.monotonic() + duration
        while next_at < until:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            await ssock.send_event("chat", {"message": f"p3 t={time.time_ns()} good game", "stream": "main"}, ack=True)
            next_at += interval
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in (*vsocks, ssock):
            await sock.close()
    lost = sum(len(acked_visible - r) for r in received)
    return latencies, lost, len(acked_visible) * viewers


async def run(args: argparse.Namespace) -> None:
    name = f"safestream_p3_{uuid.uuid4().hex[:8]}"
    await pg(f'CREATE DATABASE "{name}"')
    env = {
        "DATABASE_URL": f"{PG}/{name}",
        "REDIS_URL": args.redis_url,
        "SAFESTREAM_REDIS_PREFIX": f"p3{uuid.uuid4().hex[:6]}",
        # One secret for both: each install would otherwise generate its own, and B would refuse A's tokens.
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
    }
    try:
        with start_server(env) as a, start_server(env) as b:
            tokens = await register_and_login(a.url, [f"p3_u{i}" for i in range(args.viewers + 1)])
            for label, viewer_url in (("cross-process (A -> Redis -> B)", b.url), ("same process (A -> A)", a.url)):
                p50s, p99s, losses = [], [], []
                for _ in range(args.runs):
                    lat, lost, expected = await measure(
                        a.url, viewer_url, tokens, args.viewers, args.rate, args.duration
                    )
                    pct = percentiles(lat, (50, 99))
                    p50s.append(pct[50])
                    p99s.append(pct[99])
                    losses.append(100.0 * lost / max(1, expected))
                print(
                    f"{label:34s} {args.rate:.0f} msg/s x {args.viewers} viewers: "
                    f"p50 {statistics.median(p50s):.1f} ms, p99 {statistics.median(p99s):.1f} ms, "
                    f"loss {statistics.median(losses):.3f} % (median of {args.runs})",
                    flush=True,
                )
    finally:
        await pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="the Redis both processes share")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
