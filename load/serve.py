"""A server with the load settings (cheap argon2, lifted per-address limits) in a temp dir, for a bounded time.

    python load/serve.py --port 8000 --seconds 600     # then Locust, or a script's --external URL

It stops by itself after ``--seconds`` (or on Ctrl-C, or ``kill <pid of this script>``: SIGTERM too), by
its PID, and removes its temp dir.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

from driver.cli import add_server_env, parse_env_pairs
from driver.server import raise_nofile, start_server


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # A plain SIGTERM would end this script and orphan the server; a shell also starts a background
    # job with SIGINT ignored, so `kill PID` is how a script stops it.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--seconds", type=float, default=600.0, help="stop the server after this long")
    add_server_env(parser)
    args = parser.parse_args(argv)
    raise_nofile(65536)
    signal.signal(signal.SIGTERM, _interrupt)
    with start_server(parse_env_pairs(args.server_env), port=args.port) as server:
        print(
            f"server pid {server.pid} at {server.url}, healthy after {server.healthy_after:.2f} s; "
            f"stops in {args.seconds:.0f} s (Ctrl-C stops it now)",
            flush=True,
        )
        try:
            server.proc.wait(args.seconds)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
