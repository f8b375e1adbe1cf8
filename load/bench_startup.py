"""P5: how long from starting ``safestream serve`` to the first 200 from /healthz?

Usage: python load/bench_startup.py [--runs 5] [--importtime] [--server-env KEY=VAL ...]

Each run starts ``python -m safestream serve`` with the offline defaults (SQLite,
demo accounts, the default moderation chain, default argon2 cost) in a fresh
temporary directory, so the migrations and demo seeding run every time, and
polls /healthz every 10 ms from just before ``Popen``. The server's own log
timestamps split the time into phases. ``--importtime`` adds the slowest
imports of ``safestream.app`` (``python -X importtime``). Target: median < 3 s.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime

from driver.cli import add_quiet_wait, add_server_env, parse_env_pairs
from driver.machine import wait_for_quiet
from driver.server import start_server
from driver.stats import fmt, median

TARGET_S = 3.0
#: Log lines that mark phases of start-up (the server logs at INFO by default).
PHASES: tuple[tuple[str, str], ...] = (
    ("first log line", r"."),
    ("last migration logged", r"Running upgrade .* -> 0\d+|Context impl"),
    ("moderation chain loaded", r"moderation chain"),
    ("demo accounts seeded", r"demo accounts seeded"),
)
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def phase_offsets(log: str, started_wall: float) -> dict[str, float]:
    """Seconds from Popen to the last line matching each phase (first line for the first phase)."""
    offsets: dict[str, float] = {}
    for line in log.splitlines():
        match = _STAMP.match(line)
        if not match:
            continue
        at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() - started_wall
        for name, pattern in PHASES:
            if re.search(pattern, line[match.end() :]) and (name not in offsets or name != "first log line"):
                offsets[name] = at
    return offsets


def import_profile(top: int = 12) -> tuple[float, list[tuple[float, str]]]:
    """Total import time of safestream.app and the third-party packages it pulls in, by cumulative s.

    ``-X importtime`` prints children before their parent, indented two spaces
    per level; read in reverse, it is a pre-order walk, so a stack of the
    current ancestors gives each import its parent. A package counts where a
    safestream module imports it first (later imports of it are cached).
    """
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import safestream.app"], capture_output=True, text=True, check=True
    )
    entries: list[tuple[int, int, str]] = []  # (depth, cumulative us, module)
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append((depth, int(parts[1]), name.strip()))
    total = 0.0
    by_package: dict[str, float] = {}
    stack: list[str] = []
    for depth, cumulative, name in reversed(entries):
        del stack[depth:]
        parent = stack[-1] if stack else ""
        stack.append(name)
        if name == "safestream.app":
            total = cumulative / 1e6
        root = name.split(".")[0]
        if root != "safestream" and parent.split(".")[0] == "safestream":
            by_package[root] = by_package.get(root, 0.0) + cumulative / 1e6
    ranked = sorted(((s, n) for n, s in by_package.items()), reverse=True)
    return total, ranked[:top]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    add_server_env(parser)
    parser.add_argument("--importtime", action="store_true", help="also list the slowest imports")
    add_quiet_wait(parser, 60.0, "wait up to this many s for the shared machine to go idle before each run")
    args = parser.parse_args(argv)
    env = parse_env_pairs(args.server_env)

    print(f"start-up to first 200 from /healthz, {args.runs} runs, fresh data dir each, env {env or 'defaults'}")
    times: list[float] = []
    phases: dict[str, list[float]] = {name: [] for name, _ in PHASES}
    for i in range(args.runs):
        waited = wait_for_quiet(args.quiet_wait) if args.quiet_wait > 0 else 0.0
        started_wall = time.time()
        # load_defaults=False: the operator's defaults, not the cheap settings of the load servers.
        with start_server(env, load_defaults=False, poll_interval=0.01) as server:
            offsets = phase_offsets(server.log_path.read_text(errors="replace"), started_wall)
        times.append(server.healthy_after)
        for name, value in offsets.items():
            phases[name].append(value)
        split = ", ".join(f"{name} {offsets[name]:.2f}" for name, _ in PHASES if name in offsets)
        print(f"  run {i + 1}: healthy after {server.healthy_after:.2f} s  ({split}; waited {waited:.0f} s idle)")
    m = median(times)
    print(
        f"median {m:.2f} s (min {min(times):.2f}, max {max(times):.2f}); target < {TARGET_S:.0f} s: "
        f"{'PASS' if m < TARGET_S else 'FAIL'}"
    )
    print(
        "median phase offsets from Popen: "
        + ", ".join(f"{name} {fmt(median(values), 2)} s" for name, values in phases.items() if values)
    )
    if args.importtime:
        total, ranked = import_profile()
        print(f"import safestream.app: {total:.2f} s; third-party packages it pulls in (cumulative s):")
        for seconds, name in ranked:
            print(f"  {seconds:6.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
