"""P7: the reconnect storm after a restart or deploy.

Usage: python load/bench_reconnect.py [--clients 10000] [--users 500] [--workers 2] [--history 200]
                                      [--lag 20] [--deadline 60]

``--clients`` raw Engine.IO/Socket.IO viewers (load/driver/reconnect_clients.py,
sharded over ``--workers`` processes) connect and join the stream ``main``,
which holds ``--history`` chat messages. Then the server is restarted the way
a deploy does it: SIGTERM to its PID (it tells the sockets and closes them),
a new process on the same port and data directory. Every viewer reconnects
at once with static/js/chat.js's jittered backoff and rejoins with ``since``
= the highest id it saw minus ``--lag`` (the last messages it had not read
when the server went down), so each rejoin replays ``--lag`` messages.

Printed: time from each viewer's drop to being back, joined and replayed
(p50/p99/max) and for all of them (from the SIGTERM and from the new
server's first /healthz 200), failures, server CPU per connection (its
/proc/<pid>/stat from healthy to all back, over the reconnects), the client
processes' CPU and the new server's RSS. Target: all back within 15 s at
<= 1.5 ms of server CPU per connection.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the driver, when imported from elsewhere

from driver import reconnect_clients
from driver.accounts import register_and_login
from driver.cli import add_quiet_wait, add_server_env, parse_env_pairs
from driver.machine import loadavg, rss_kib, sample, wait_for_quiet
from driver.server import raise_nofile, restart_server, start_py_spy, start_server
from driver.stats import percentile
from driver.workers import Workers

TARGET_SECS, TARGET_MS = 15.0, 1.5


async def _post_history(url: str, stream: str, n: int) -> None:
    """``n`` chat messages from one account, in acked batches, so joins carry history and rejoins replay."""
    from driver.wire import open_socket

    (token,) = await register_and_login(url, ["storm_sender"])
    async with aiohttp.ClientSession() as session:
        sock = await open_socket(session, url, token)
        await sock.call("join", {"stream": stream})
        for start in range(0, n, 50):
            ids = [
                await sock.send_event("chat", {"stream": stream, "message": f"history line {i}"}, ack=True)
                for i in range(start, min(start + 50, n))
            ]
            pending = {f"43{i}" for i in ids}
            while pending:
                frame = await sock.recv_text(60)
                pending = {p for p in pending if not (frame.startswith(p) and frame[len(p)] == "[")}
        await sock.close()


def settle(pid: int, since_cpu: float, limit: float = 30.0) -> float:
    """CPU seconds a just-started server burns after its first 200 (the moderation chain loads
    in a thread, then a gc.freeze) until it idles: measured on the first start, subtracted from
    the storm's CPU so that a connection is not charged with the model loading."""
    deadline, last = time.monotonic() + limit, sample(pid).cpu_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sample(pid).cpu_s
        if now - last < 0.02:
            break
        last = now
    return last - since_cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=500, help="accounts, shared round-robin")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--stream", default="main")
    parser.add_argument("--history", type=int, default=200, help="chat messages posted before the viewers join")
    parser.add_argument("--lag", type=int, default=20, help="messages each viewer missed: since = last id - lag")
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds after the restart to wait for all")
    parser.add_argument("--keep-server", action="store_true", help="keep the data directory and server log")
    parser.add_argument("--profile", metavar="OUT.txt", help="py-spy (on PATH) records the new server's storm")
    add_server_env(parser)
    add_quiet_wait(parser, 60.0)
    args = parser.parse_args(argv)
    n, users = args.clients, min(args.users, args.clients)
    nofile = n + 4096
    raise_nofile(nofile)
    env = {
        "MAX_CONNECTIONS": str(n + 1000),
        # Headroom: a retry whose handshake the client gave up on may still be open on the server.
        "SAFESTREAM_MAX_SOCKETS_PER_USER": str(2 * -(-n // users) + 10),
        **parse_env_pairs(args.server_env),
    }
    if args.quiet_wait > 0:
        wait_for_quiet(args.quiet_wait)
    # Its own prefix: the data directory must survive between the two processes.
    server = start_server(env, nofile=nofile, keep=True, workdir=Path(tempfile.mkdtemp(prefix="safestream-storm-")))
    tail = settle(server.pid, sample(server.pid).cpu_s)
    print(f"server pid {server.pid} on {server.url}; {tail:.1f} s of CPU after healthy until idle; env {env}")
    workers = Workers()
    try:
        asyncio.run(_post_history(server.url, args.stream, args.history))
        tokens = asyncio.run(register_and_login(server.url, [f"storm{i}" for i in range(users)]))
        per_client = [tokens[i % users] for i in range(n)]
        for _ in range(args.workers):
            workers.start(reconnect_clients.worker_main, server.url, args.stream, args.lag)
        started = time.perf_counter()
        answers = workers.broadcast("connect", [per_client[w :: args.workers] for w in range(args.workers)])
        joined = sum(a["ok"] for a in answers)
        print(
            f"{joined:,}/{n:,} joined {args.stream} in {time.perf_counter() - started:.1f} s "
            f"({sum(a['n_errors'] for a in answers)} errors {[e for a in answers for e in a['errors']][:2]}); "
            f"server RSS {rss_kib(server.pid) / 1024:.0f} MiB"
        )
        driver_cpu0 = sum(a["cpu_s"] for a in workers.broadcast("arm"))
        old_pid, sigterm_at = server.pid, time.monotonic()
        server = restart_server(server, env, nofile=nofile)
        healthy_at = server.started + server.healthy_after
        cpu0 = sample(server.pid).cpu_s
        spy = start_py_spy(args.profile, server.pid, args.deadline) if args.profile else None
        print(
            f"restart: pid {old_pid} stopped in {server.started - sigterm_at:.1f} s; pid {server.pid} "
            f"healthy {server.healthy_after:.1f} s later (CPU {cpu0:.1f} s to get there)"
        )
        answers = workers.broadcast("wait", [args.deadline] * args.workers, timeout=args.deadline + 60)
        cpu = sample(server.pid).cpu_s - cpu0
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled so far on Ctrl-C
            spy.wait(60)
        rss = rss_kib(server.pid)
        driver_cpu = sum(a["cpu_s"] for a in answers) - driver_cpu0
        pairs = [(d, b) for a in answers for d, b in zip(a["dropped"], a["back"], strict=True)]
        back = [b - d for d, b in pairs if b > 0 and d > 0]
        failed = len(pairs) - len(back)
        last = max((b for _, b in pairs if b > 0), default=float("nan"))
        print(
            f"back, joined and replayed: {len(back):,}/{len(pairs):,} ({failed} not back within "
            f"{args.deadline:.0f} s); attempts {sum(a['attempts'] for a in answers):,}; messages replayed "
            f"{sum(a['replayed'] for a in answers):,}; gaps {sum(a['gaps'] for a in answers)}"
        )
        for error in [e for a in answers for e in a["errors"]][:3]:
            print(f"  failed attempt (first): {error}")
        if back:
            print(
                f"per client, drop -> back: p50 {percentile(back, 50):.1f} s, p99 {percentile(back, 99):.1f} s, "
                f"max {max(back):.1f} s"
            )
        total = last - healthy_at
        print(
            f"all back: {last - sigterm_at:.1f} s after SIGTERM, {total:.1f} s after the new server was healthy; "
            f"{len(back) / total if total > 0 else float('nan'):,.0f} rejoins/s; target <= {TARGET_SECS:.0f} s: "
            f"{'PASS' if failed == 0 and total <= TARGET_SECS else 'FAIL'}"
        )
        per_conn = 1000 * max(cpu - tail, 0.0) / max(len(back), 1)
        print(
            f"server CPU healthy -> all back: {cpu:.1f} s, {1000 * cpu / max(len(back), 1):.2f} ms per connection; "
            f"less the {tail:.1f} s start-up tail: {per_conn:.2f} ms per connection (target <= "
            f"{TARGET_MS} ms: {'PASS' if per_conn <= TARGET_MS else 'FAIL'}); RSS {rss / 1024:.0f} MiB = "
            f"{rss / max(len(back), 1):.1f} KiB per socket incl. the process; client processes' CPU "
            f"{driver_cpu:.1f} s; load average {loadavg()}"
        )
    finally:
        workers.join(30, farewell=("exit",))
        for count, line in server.log_problems():
            print(f"  server log: {count} x {line}")
        server.keep = args.keep_server
        server.stop()
        if args.keep_server:
            print(f"server log kept: {server.log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
