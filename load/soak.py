"""Soak: a long steady load, reporting RSS growth, loss and latency drift.

    python load/soak.py                      # 10 minutes at 500 msg/s, 50 viewers
    python load/soak.py --duration 120 --rate 200 --interval 10

Starts its own server (``--url`` targets a running one instead), opens raw
Engine.IO clients (see ``driver.wire.RawSocket``), sends at a fixed open-loop rate
and prints one line per interval, then a summary: server RSS growth after
warm-up, messages lost (acked and visible but not delivered to every viewer),
and the p99 latency of the last interval against the first. It stops by
itself; all traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

from driver.accounts import register_and_login
from driver.machine import rss_kib
from driver.server import Server, start_server
from driver.stats import percentiles
from driver.wire import VISIBLE, RawSocket, chat_messages, open_joined, parse_ack


@dataclass
class Tally:
    sent: int = 0
    acked: int = 0
    refused: int = 0
    delivered: int = 0
    latencies: list[float] = field(default_factory=list)
    acked_ids: set[int] = field(default_factory=set)


async def viewer(sock: RawSocket, tally: Tally, seen: set[int], stop: asyncio.Event) -> None:
    async for frame in sock.frames(stop):
        now = time.time_ns()
        for msg in chat_messages(frame):
            text = msg.get("message", "")
            if text.startswith("soak t="):
                tally.latencies.append((now - int(text.split()[1][2:])) / 1e6)
                tally.delivered += 1
                seen.add(msg["id"])


async def sender(sock: RawSocket, tally: Tally, rate: float, until: float) -> None:
    pending: dict[int, float] = {}
    done = asyncio.Event()

    async def reader() -> None:
        async for frame in sock.frames(done):
            if (parsed := parse_ack(frame)) is None:
                continue
            ack_id, ack = parsed
            pending.pop(ack_id, None)
            if ack.get("ok"):
                tally.acked += 1
                if ack.get("action") in VISIBLE:
                    tally.acked_ids.add(ack["id"])
            else:
                tally.refused += 1

    # The reader stops 5 s after the sending window (acks of a slow server still count), or when the socket closes.
    asyncio.get_running_loop().call_later(until + 5 - time.monotonic(), done.set)
    task = asyncio.create_task(reader())
    interval, next_at, n = 1.0 / rate, time.monotonic(), 0
    while next_at < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        ack_id = await sock.send_event(
            "chat", {"message": f"soak t={time.time_ns()} n={n} nice stream", "stream": "main"}, ack=True
        )
        pending[ack_id or 0] = time.monotonic()
        tally.sent += 1
        n += 1
        next_at += interval
    await task


async def run(args: argparse.Namespace) -> None:
    if args.url:
        await soak(args, args.url, None)
        return
    with start_server({"SAFESTREAM_RATE_LIMIT_PER_USER": "1000000"}) as server:
        await soak(args, server.url, server)


async def soak(args: argparse.Namespace, url: str, server: Server | None) -> None:
    names = [f"soak_v{i}" for i in range(args.viewers)] + [f"soak_s{i}" for i in range(args.senders)]
    tokens = await register_and_login(url, names)
    tally, stop = Tally(), asyncio.Event()
    seen: list[set[int]] = [set() for _ in range(args.viewers)]
    async with aiohttp.ClientSession() as session:
        socks = await open_joined(session, url, tokens, "main")
        until = time.monotonic() + args.duration
        tasks = [asyncio.create_task(viewer(s, tally, seen[i], stop)) for i, s in enumerate(socks[: args.viewers])]
        tasks += [asyncio.create_task(sender(s, tally, args.rate / args.senders, until)) for s in socks[args.viewers :]]
        rows, started, last_lat = [], time.monotonic(), 0
        print(f"{'t(s)':>6} {'sent':>8} {'acked':>8} {'deliv/s':>9} {'p50ms':>7} {'p99ms':>7} {'rss MB':>7}")
        while time.monotonic() < until:
            await asyncio.sleep(args.interval)
            window = tally.latencies[last_lat:]
            last_lat = len(tally.latencies)
            rss = rss_kib(server.pid) / 1024 if server else 0.0
            pct = percentiles(window, (50, 99)) if window else {50: 0.0, 99: 0.0}
            row = (
                time.monotonic() - started,
                tally.sent,
                tally.acked,
                len(window) / args.interval,
                pct[50],
                pct[99],
                rss,
            )
            rows.append(row)
            print(
                f"{row[0]:6.0f} {row[1]:8d} {row[2]:8d} {row[3]:9.0f} {row[4]:7.1f} {row[5]:7.1f} {row[6]:7.1f}",
                flush=True,
            )
        await asyncio.sleep(3)  # let the last messages arrive
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in socks:
            await sock.close()
    missing = sum(len(tally.acked_ids - s) for s in seen)
    warm = rows[min(1, len(rows) - 1)]
    print(
        f"\nsent {tally.sent}, acked {tally.acked}, refused {tally.refused}; "
        f"loss {missing} of {len(tally.acked_ids) * args.viewers} deliveries "
        f"({100.0 * missing / max(1, len(tally.acked_ids) * args.viewers):.3f} %)"
    )
    print(f"RSS after warm-up {warm[6]:.1f} MB -> end {rows[-1][6]:.1f} MB (growth {rows[-1][6] - warm[6]:+.1f} MB)")
    print(
        f"p99 latency first interval {rows[0][5]:.1f} ms -> last {rows[-1][5]:.1f} ms; "
        f"p50 {rows[0][4]:.1f} -> {rows[-1][4]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--rate", type=float, default=500.0, help="messages per second, all senders")
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds per report line")
    parser.add_argument("--url", help="an already running server (default: start one)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
