"""The join-amplification attack of issue 9 item 4, measured.

One socket sends N ``join {since: 0}`` events at once on a stream holding M
messages; reports the acks' total size, how many were refused, the server's
CPU seconds for the flood and ``/healthz`` latency while it runs.

    python load/bench_join_flood.py [--joins 1000] [--messages 800]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the driver, when imported from elsewhere

from driver.accounts import register_and_login
from driver.machine import cpu_seconds
from driver.server import start_server
from driver.stats import percentile
from driver.wire import open_socket, parse_ack


async def _healthz(url: str, stop: asyncio.Event, out: list[float]) -> None:
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.perf_counter()
            async with http.get(url + "/healthz") as resp:
                await resp.read()
            out.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)


async def run(url: str, pid: int, joins: int, messages: int) -> dict[str, float]:
    sender_token, attacker_token = await register_and_login(url, ["flood_sender", "flood_attacker"])
    async with aiohttp.ClientSession() as session:
        sender = await open_socket(session, url, sender_token)
        await sender.call("join", {"stream": "main"})
        for start in range(0, messages, 100):
            ids = [
                await sender.send_event("chat", {"message": f"filler {i}", "stream": "main"}, ack=True)
                for i in range(start, min(start + 100, messages))
            ]
            pending = {f"43{i}" for i in ids}
            while pending:
                frame = await sender.recv_text(30)
                pending = {p for p in pending if not (frame.startswith(p) and frame[len(p)] == "[")}
        await asyncio.sleep(0.5)  # let the write-behind flush

        attacker = await open_socket(session, url, attacker_token)
        stop, latencies = asyncio.Event(), list[float]()
        probe = asyncio.create_task(_healthz(url, stop, latencies))
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        for _ in range(joins):
            await attacker.send_event("join", {"stream": "main", "since": 0}, ack=True)
        acked = refused = 0
        ack_bytes = 0
        while acked < joins:
            frame = await attacker.recv_text(120)
            if (parsed := parse_ack(frame)) is None:
                continue
            acked += 1
            ack_bytes += len(frame.encode())
            refused += not parsed[1].get("ok")
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
        stop.set()
        await probe
        await attacker.close()
        await sender.close()
    return {
        "joins": joins,
        "refused": refused,
        "ack_MB": ack_bytes / 1e6,
        "seconds": elapsed,
        "server_cpu_s": cpu,
        "healthz_p99_ms": 1000 * percentile(latencies, 99) if latencies else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=800)
    args = parser.parse_args()
    with start_server({"GIFT_INTERVAL_SECS": "3600"}) as server:
        figures = asyncio.run(asyncio.wait_for(run(server.url, server.pid, args.joins, args.messages), 55))
    print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
