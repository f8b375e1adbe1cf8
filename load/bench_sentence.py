"""The sentence stage's cost here: load time, msg/s by batch size (fp32 vs int8), RSS, chain throughput.

    python load/bench_sentence.py [--seconds 3] [--runs 3] [--threads 2] [--max-tokens 64] [--skip-chain]

(a) Load: encoder + heads, from a cold process (torch import included).
(b) ``SentenceScorer.predict`` on chat-length messages (5-30 words) at batch
    1/8/32/64, fp32 and dynamic int8, msg/s over ``--seconds`` per cell, the
    median of ``--runs`` passes (cells interleaved, so a busy moment on the
    shared machine does not land on one cell only).
(c) The full default chain (``engine.assess``, cascade ``band``: the sentence
    stage sees only what it must) at batch 256 on driver.texts messages.
(d) RSS with the encoder loaded, and the validation AUCs stored in the
    committed artifact by ``safestream train-moderation``.

Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

WORDS = (
    "the stream was great today and i really liked that last round you played with the team "
    "what a clutch play nobody expected it lol gg see you all tomorrow thanks for the music"
)


def chat_lines(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    words = WORDS.split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(5, 30))) for _ in range(n)]


def rate(fn, batch: list[str], seconds: float) -> float:  # type: ignore[no-untyped-def]
    fn(batch)  # warm
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn(batch)
        done += len(batch)
    return done / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--skip-chain", action="store_true", help="only load, RSS and the batch table")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    import torch

    torch.set_num_threads(args.threads)
    from safestream.moderation.backends.sentence import SentenceScorer
    from safestream.moderation.heads import DEFAULT_ARTIFACT

    scorers = {}
    for mode in ("fp32", "int8"):
        t = time.perf_counter()
        scorer = SentenceScorer(quantize=mode == "int8", max_tokens=args.max_tokens)
        scorer.load_sync()
        scorers[mode] = scorer
        print(
            f"load {mode}: {time.perf_counter() - t:.2f} s"
            + (
                f" (process start to loaded, torch import included: {time.perf_counter() - started:.2f} s)"
                if mode == "fp32"
                else ""
            )
        )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak RSS with both encoders loaded: {rss_mb:.0f} MB; threads {args.threads}; "
        f"cpu count {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}"
    )
    lines = chat_lines(64)
    cells: dict[tuple[int, str], list[float]] = {}
    for _ in range(args.runs):
        for batch in (1, 8, 32, 64):
            for m in ("fp32", "int8"):
                cells.setdefault((batch, m), []).append(rate(scorers[m].predict, lines[:batch], args.seconds))
    print(
        f"batch  fp32 msg/s  int8 msg/s   (median of {args.runs}; load average now "
        f"{os.getloadavg()[0]:.1f}; max tokens {args.max_tokens})"
    )
    for batch in (1, 8, 32, 64):
        fp32, int8 = (statistics.median(cells[(batch, m)]) for m in ("fp32", "int8"))
        print(f"{batch:>5}  {fp32:>10.0f}  {int8:>10.0f}")
    for scorer in scorers.values():
        scorer._executor.shutdown()
    if args.skip_chain:
        return 0

    from driver.texts import make_messages
    from safestream.moderation.engine import ModerationEngine
    from safestream.settings import Settings

    async def chain() -> float:
        engine = ModerationEngine.from_settings(Settings(env="test", cascade="band").validated())
        await engine.load()
        try:
            messages = make_messages(5000, 1)
            await engine.assess(messages[:256])
            done, t = 0, time.perf_counter()
            escalated = 0
            for i in range(0, len(messages), 256):
                results = await engine.assess(messages[i : i + 256])
                escalated += sum(r.escalated for r in results)
                done += len(results)
            print(f"sentence stage saw {escalated / done:.1%} of messages (band mode)")
            return done / (time.perf_counter() - t)
        finally:
            await engine.close()

    print(f"default chain, band cascade, batch 256: {asyncio.run(chain()):.0f} msg/s")
    meta = json.loads(DEFAULT_ARTIFACT.read_text())["meta"]
    print("validation ROC AUC (committed artifact):", json.dumps(meta.get("auc", {})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
