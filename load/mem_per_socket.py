"""P2: what one joined socket holds in the server, by allocation site (tracemalloc).

Usage: python load/mem_per_socket.py [--connections 2000] [--users 500] [--workers 2] [--top 25]

Runs ``safestream serve`` in this process under tracemalloc (so it is slower than
a real server: use it to see where memory goes, bench_connections.py for RSS),
opens ``--connections`` raw sockets that join ``main`` from client processes
(bench_connections.py's workers), and prints the allocation sites that grew
between a warm-up of 200 sockets and all of them, in bytes per socket.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
import tracemalloc
import urllib.request
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the driver, when imported from elsewhere

import bench_connections

from driver.accounts import tokens_for
from driver.machine import rss_kib
from driver.server import LOAD_SERVER_ENV, free_port, raise_nofile
from driver.workers import Workers

WARM = 200


def _wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1.0) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server not healthy")


def _report(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int, top: int) -> None:
    for key, frames in (("lineno", 1), ("traceback", 4)):
        stats = after.compare_to(before, key)
        grown = [s for s in stats if s.size_diff > 0]
        total = sum(s.size_diff for s in stats)
        print(f"\n--- by {key}: {total / n:,.0f} B per socket in all (traced Python allocations)")
        for stat in grown[:top]:
            where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in list(stat.traceback)[-frames:])
            print(f"{stat.size_diff / n:8,.0f} B {stat.count_diff / n:6.2f} blocks  {where}")


def _drive(url: str, args: argparse.Namespace, out: dict[str, object]) -> None:
    workers = Workers()
    try:
        _wait_healthy(url)
        names = [f"mem{i}" for i in range(args.users)]
        tokens, _ = tokens_for(url, names)
        per_socket = [tokens[i % args.users] for i in range(args.connections)]
        for _ in range(args.workers):
            workers.start(bench_connections.worker_main, url, "main", True)
        w = args.workers
        tracemalloc.start(8)  # only now: tracing the start-up and the registrations takes minutes
        workers.broadcast("connect", [per_socket[i:WARM:w] for i in range(w)])
        time.sleep(2)
        rss0, before = rss_kib(os.getpid()), tracemalloc.take_snapshot()
        answers = workers.broadcast("connect", [per_socket[WARM + i :: w] for i in range(w)])
        time.sleep(3)  # handshakes and presence settle
        rss1, after = rss_kib(os.getpid()), tracemalloc.take_snapshot()
        opened = sum(a["ok"] for a in answers)
        print(
            f"{opened:,} sockets after the warm-up; RSS +{(rss1 - rss0) / max(opened, 1):.1f} KiB each under tracemalloc"
        )
        _report(before, after, max(opened, 1), args.top)
        workers.broadcast("close")
    except Exception as exc:  # noqa: BLE001 - shown, and the server still stops
        traceback.print_exc()
        out["error"] = exc
    finally:
        workers.join(30, farewell=("exit",))
        sys.stdout.flush()  # the server may end the process with os._exit
        os.kill(os.getpid(), signal.SIGTERM)  # the server in the main thread stops on it


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    raise_nofile(args.connections + 4096)
    port = free_port()
    os.environ.update(LOAD_SERVER_ENV)
    os.environ.update(
        {
            "MAX_CONNECTIONS": str(args.connections + 1000),
            "SAFESTREAM_MAX_SOCKETS_PER_USER": str(-(-args.connections // args.users) + 10),
        }
    )
    os.chdir(tempfile.mkdtemp(prefix="safestream-mem-"))
    out: dict[str, object] = {}
    threading.Thread(target=_drive, args=(f"http://127.0.0.1:{port}", args, out), daemon=True).start()
    from safestream.cli.main import main as safestream_main

    safestream_main(["serve", "--host", "127.0.0.1", "--port", str(port)])
    if "error" in out:
        print(f"failed: {out['error']!r}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
