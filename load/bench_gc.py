"""What a full garbage collection costs the server, before and after ``gc.freeze()``.

Usage: python load/bench_gc.py [--moderation profanity|default] [--runs 5]

Builds the real app and runs its start-up (database, services, the moderation
chain loaded) in this process, then times full collections (``gc.collect()``)
with ``time.process_time`` (this process's CPU, so a busy shared machine does
not inflate it): first as ``safestream serve`` ran before, then after the
``gc.collect(); gc.freeze()`` that ``safestream.gctune`` now does. Under chat
load a full collection ran about once a second, and its pause is added to every
message in flight (the p99 tail); also printed: how many objects each scans,
and the gen-0/1/2 collection counts over a burst of allocations like a chat
payload's, for a ``--threshold`` comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestServer

from safestream.app import create_app
from safestream.app_keys import MODERATION_KEY
from safestream.settings import Settings


def _full_collections(runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.process_time()
        gc.collect()
        out.append((time.process_time() - started) * 1000)
    return out


def _chat_like_churn(n: int) -> tuple[int, int, int]:
    """Collections triggered by ``n`` short-lived payload dicts (what the send path allocates)."""
    before = [s["collections"] for s in gc.get_stats()]
    keep = []
    for i in range(n):
        payload = {
            "type": "chat",
            "id": i,
            "stream": "main",
            "user": f"u{i % 50}",
            "message": "hi " * 5,
            "toxic": False,
            "score": 0.01,
            "ts": "2026-12-01T00:00:00Z",
            "refs": [i],
        }
        keep.append(payload)
        if len(keep) > 2000:
            keep.clear()
    after = [s["collections"] for s in gc.get_stats()]
    return after[0] - before[0], after[1] - before[1], after[2] - before[2]


async def main_async(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="safestream-gc-"))
    settings = Settings(
        env="development", data_dir=tmp, jwt_secret_key="x" * 40, moderation=args.moderation
    ).validated()
    server = TestServer(create_app(settings), host="127.0.0.1", port=args.port)
    await server.start_server()
    await server.app[MODERATION_KEY].wait_loaded()
    if args.threshold:
        gc.set_threshold(args.threshold, *gc.get_threshold()[1:])
    tracked = len(gc.get_objects())
    before = _full_collections(args.runs)
    churn_before = _chat_like_churn(200_000)
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    after = _full_collections(args.runs)
    churn_after = _chat_like_churn(200_000)
    print(
        f"moderation {args.moderation}; gc threshold {gc.get_threshold()}; {tracked:,} tracked objects after start-up"
    )
    print(
        f"full collection before freeze: median {statistics.median(before):.1f} ms CPU "
        f"(runs {', '.join(f'{v:.1f}' for v in before)})"
    )
    print(
        f"full collection after freezing {frozen:,} objects: median {statistics.median(after):.2f} ms CPU "
        f"(runs {', '.join(f'{v:.2f}' for v in after)})"
    )
    print(f"collections (gen0, gen1, gen2) per 200k chat-like payloads: before {churn_before}, after {churn_after}")
    await server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moderation", default="profanity")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threshold", type=int, default=0, help="gen-0 threshold to set first (0: Python's)")
    parser.add_argument("--port", type=int, default=18460)
    asyncio.run(main_async(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
