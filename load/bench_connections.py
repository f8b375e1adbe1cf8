"""P2: server memory per idle authenticated Socket.IO connection.

Usage: python load/bench_connections.py [--connections 10000] [--workers 4] [--users N] [--join]
                                        [--hold 5] [--cycles 1] [--external URL --server-pid PID]

Opens ``--connections`` raw Engine.IO/Socket.IO WebSockets (load/driver/wire.py),
each authenticated with its own account's token (``--users`` fewer accounts
share them round-robin; the server's per-user socket cap is raised then),
spread over ``--workers`` client processes. The server runs with
MAX_CONNECTIONS and its open-file limit raised. Server RSS is read from
/proc: after start-up and registration, after a warm-up of ``--warmup``
sockets (so one-time allocations are not charged to sockets), after all are
open, and after they close. KB per socket = (full - warm) / (N - warm).
With ``--join`` every socket also joins the stream ``main``. Target (P2, issue 14): <= 30 KiB.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from driver.accounts import tokens_for
from driver.cli import add_quiet_wait, add_server_env, add_target, parse_env_pairs
from driver.machine import rss_kib, sample, wait_for_quiet
from driver.server import raise_nofile, start_server
from driver.wire import RawSocket, gather_bounded, join, open_socket
from driver.workers import Workers, run_worker

TARGET_KIB = 30.0


# --------------------------------------------------------------------------- client processes


def worker_main(conn: Connection, base_url: str, stream: str | None, deflate: bool) -> None:
    run_worker(conn, functools.partial(_worker, conn, base_url, stream, deflate))


async def _worker(conn: Connection, base_url: str, stream: str | None, deflate: bool) -> None:
    """Obeys ("connect", tokens) / ("close",) / ("exit",) from the parent; keeps sockets idle meanwhile."""
    loop = asyncio.get_running_loop()
    socks: list[RawSocket] = []
    readers: list[asyncio.Task[None]] = []
    dropped = 0

    close_reasons: dict[str, int] = {}

    async def idle(sock: RawSocket) -> None:
        """An idle client still answers Engine.IO pings, or the server drops it after ~45 s."""
        nonlocal dropped
        last = ""
        opened = time.monotonic()
        async for msg in sock.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                if msg.data == "2":
                    await sock.ws.send_str("3")
                else:
                    last = msg.data[:24]
        dropped += 1
        # Why the server closed it: the WebSocket close code, the last frame and how long it lived.
        lived = 10 * ((time.monotonic() - opened) // 10)
        reason = f"ws close {sock.ws.close_code}, last frame {last!r}, after {lived:.0f}+ s"
        close_reasons[reason] = close_reasons.get(reason, 0) + 1

    async def connect_one(session: aiohttp.ClientSession, token: str) -> RawSocket:
        sock = await open_socket(session, base_url, token, deflate=deflate)
        if stream:
            await join(sock, stream)
        # Read (and answer pings) from now on: a batch of thousands takes longer to connect than the
        # server's ping interval + timeout (45 s), and a socket nobody reads would be dropped.
        readers.append(asyncio.create_task(idle(sock)))
        return sock

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        while True:
            command: tuple[Any, ...] = await loop.run_in_executor(None, conn.recv)
            if command[0] == "connect":
                started = time.perf_counter()
                results = await gather_bounded([functools.partial(connect_one, session, t) for t in command[1]], 64)
                new = [r for r in results if isinstance(r, RawSocket)]
                errors = [repr(r) for r in results if not isinstance(r, RawSocket)]
                socks += new
                conn.send(
                    {
                        "ok": len(new),
                        "n_errors": len(errors),
                        "errors": errors[:3],
                        "secs": time.perf_counter() - started,
                        "dropped": dropped,
                    }
                )
            elif command[0] == "status":
                conn.send({"open": len(socks) - dropped, "dropped": dropped, "reasons": dict(close_reasons)})
            elif command[0] == "close":
                for task in readers:
                    task.cancel()
                await gather_bounded([s.close for s in socks], 256)
                conn.send({"closed": len(socks)})
                socks.clear()
                readers.clear()
            else:
                return


# --------------------------------------------------------------------------- main


def _settled_rss(pid: int, wait: float = 2.0) -> int:
    """RSS after the server had a moment to finish work in flight (handshakes, presence)."""
    time.sleep(wait)
    return rss_kib(pid)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=0, help="accounts (default: one per connection)")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--warmup", type=int, default=200, help="sockets opened before the baseline")
    parser.add_argument("--join", action="store_true", help="each socket also joins --stream")
    parser.add_argument("--stream", default="main")
    parser.add_argument("--hold", type=float, default=5.0, help="seconds to keep them open before closing")
    parser.add_argument("--cycles", type=int, default=1, help="open/close rounds (>1 shows reuse vs growth)")
    add_server_env(parser)
    add_target(parser, "use a running server (its limits must allow N)", "with --external: the PID to read RSS from")
    add_quiet_wait(parser, 60.0)
    args = parser.parse_args(argv)
    n = args.connections
    users = args.users or n
    per_user = -(-n // users)
    nofile = n + 4096
    raise_nofile(nofile)  # for this process; the server and the clients raise their own too

    env = {
        "MAX_CONNECTIONS": str(n + 1000),
        "SAFESTREAM_MAX_SOCKETS_PER_USER": str(max(per_user, 10)),
        **parse_env_pairs(args.server_env),
    }
    if args.quiet_wait > 0:
        wait_for_quiet(args.quiet_wait)
    server = None
    if args.external:
        base_url, pid = args.external.rstrip("/"), args.server_pid
    else:
        server = start_server(env, nofile=nofile, keep=args.keep_server)
        base_url, pid = server.url, server.pid
        print(f"server pid {pid} healthy after {server.healthy_after:.2f} s; env {env}")
    if pid is None:
        parser.error("--external needs --server-pid to read the server's RSS")
    workers = Workers()
    try:
        rss_start = rss_kib(pid)
        names = [f"idle{i}" for i in range(users)]
        tokens, took = tokens_for(base_url, names, concurrency=32)
        print(f"{users} accounts registered and logged in in {took:.1f} s ({users / took:.0f}/s)")
        per_socket = [tokens[i % users] for i in range(n)]
        for _ in range(args.workers):
            workers.start(worker_main, base_url, args.stream if args.join else None, not args.no_deflate)
        rss_registered = _settled_rss(pid)

        warm = min(args.warmup, n)
        answers = workers.broadcast("connect", [per_socket[w : warm : args.workers] for w in range(args.workers)])
        warm_ok = sum(a["ok"] for a in answers)
        rss_warm = _settled_rss(pid)
        cpu_before = sample(pid).cpu_s

        started = time.perf_counter()
        answers = workers.broadcast("connect", [per_socket[warm + w :: args.workers] for w in range(args.workers)])
        connect_secs = time.perf_counter() - started
        cpu_connect = sample(pid).cpu_s - cpu_before
        rest_ok = sum(a["ok"] for a in answers)
        errors = sum(a["n_errors"] for a in answers)
        for a in answers:
            if a["errors"]:
                print(f"  connect errors (first): {a['errors']}")
        rss_full = _settled_rss(pid)
        time.sleep(max(0.0, args.hold - 2.0))
        status = workers.broadcast("status")
        still_open = sum(s["open"] for s in status)
        reasons: dict[str, int] = {}
        for s in status:
            for reason, count in s["reasons"].items():
                reasons[reason] = reasons.get(reason, 0) + count
        for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  closed by the server: {count} x {reason}")
        rss_held = rss_kib(pid)
        workers.broadcast("close")
        rss_closed = _settled_rss(pid, 3.0)

        total_ok = warm_ok + rest_ok
        opened = rest_ok
        kb_each = (rss_full - rss_warm) / opened * 1.024 if opened else float("nan")  # KiB -> kB
        kib_each = (rss_full - rss_warm) / opened if opened else float("nan")
        overall = (rss_full - rss_registered) / total_ok if total_ok else float("nan")
        print(
            f"connections: {total_ok:,}/{n:,} open ({errors} errors), {still_open:,} still open after "
            f"{args.hold:.0f} s; {'joined ' + args.stream if args.join else 'not in any stream'}; "
            f"{users:,} accounts"
        )
        print(
            f"connect: {rest_ok:,} in {connect_secs:.1f} s = {rest_ok / connect_secs:,.0f}/s; server CPU "
            f"{cpu_connect:.1f} s = {1000 * cpu_connect / max(rest_ok, 1):.2f} ms per connection"
        )
        print(
            f"server RSS MiB: start {rss_start / 1024:.1f}, after accounts {rss_registered / 1024:.1f}, "
            f"after {warm_ok} warm-up sockets {rss_warm / 1024:.1f}, all open {rss_full / 1024:.1f}, "
            f"after hold {rss_held / 1024:.1f}, after close {rss_closed / 1024:.1f}"
        )
        print(
            f"per socket: {kib_each:.1f} KiB ({kb_each:.1f} kB) marginal over the warm-up; "
            f"{overall:.1f} KiB counting the warm-up; target <= {TARGET_KIB:.0f} KiB: "
            f"{'PASS' if kib_each <= TARGET_KIB else 'FAIL'}"
        )
        # Further cycles tell reuse from a leak: freed memory that Python keeps for reuse stops
        # RSS from growing in the next cycle; state kept per closed connection makes it grow again.
        for cycle in range(2, args.cycles + 1):
            cpu_before, started = sample(pid).cpu_s, time.perf_counter()
            answers = workers.broadcast("connect", [per_socket[w :: args.workers] for w in range(args.workers)])
            secs, cpu = time.perf_counter() - started, sample(pid).cpu_s - cpu_before
            ok = sum(a["ok"] for a in answers)
            print(
                f"cycle {cycle} reconnect: {ok:,} in {secs:.1f} s = {ok / secs:,.0f}/s; server CPU {cpu:.1f} s = "
                f"{1000 * cpu / max(ok, 1):.2f} ms per connection"
            )
            failed = sum(a["n_errors"] for a in answers)
            rss_open = _settled_rss(pid)
            workers.broadcast("close")
            rss_after = _settled_rss(pid, 3.0)
            print(
                f"cycle {cycle}: {ok:,} open ({failed} failed) -> RSS {rss_open / 1024:.1f} MiB; "
                f"closed -> {rss_after / 1024:.1f} MiB"
            )
    finally:
        workers.join(30, farewell=("exit",))
        if server is not None:
            for count, line in server.log_problems():
                print(f"  server log: {count} x {line}")
            server.stop()
            if args.keep_server:
                print(f"server log kept: {server.log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
