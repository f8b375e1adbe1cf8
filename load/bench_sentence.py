"""The sentence stage's cost here: load time, msg/s by runtime, batch, int8 and threads, RSS, chain throughput.

    python load/bench_sentence.py [--seconds 3] [--runs 3] [--runtime both|torch|onnx] [--threads 1,2]
                                  [--max-tokens 64] [--skip-chain]

(a) Load: encoder + heads per runtime and precision (first ONNX use exports
    the graph into the cache, ``encoder_onnx``; later loads read it).
(b) ``SentenceScorer.predict`` on chat-length messages (5-30 words) at batch
    1/8/32/64 for every (runtime, fp32/int8, threads) cell, msg/s over
    ``--seconds``, the median of ``--runs`` passes (cells interleaved, so a
    busy moment on the shared machine does not land on one cell only), with the
    load average at each pass.
(c) Agreement with the reference (torch fp32, what the heads were trained on)
    on 200 chat lines plus abusive and innocent sentences: max abs difference
    of the embeddings and of the heads' per-category scores.
(d) The full default chain (``engine.assess``, cascade ``band``: the sentence
    stage sees only what it must) at batch 256 on driver.texts messages.
(e) RSS with the encoders loaded, and the validation AUCs stored in the
    committed artifact by ``safestream train-moderation``.
(f) ``--contention``: each cell scoring batches of 32 on its thread while the
    event loop runs 1 ms pure-Python work units (a stand-in for the server's
    fan-out), per intra-op thread count: sentence msg/s and the loop's rate
    against the loop alone (``--batches none`` skips (b)). On two cores a
    second intra-op thread can take the loop's core, and the stage needs the
    GIL back after every ``session.run``.

int8 texts run one at a time (``BaseEncoder.rows_alone``: dynamic int8 takes one
activation range per batch, so batched, a text's vector depends on its
batch-mates); ``--int8-batched`` adds a column with that batching, for
comparison only (max |batched - alone| is printed in (c)).

Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

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


def rate(fn, lines: list[str], batch: int, seconds: float) -> float:  # type: ignore[no-untyped-def]
    """msg/s calling ``fn`` on consecutive ``batch``-sized slices of ``lines`` (every length, not one line's)."""
    chunks = [lines[i : i + batch] for i in range(0, len(lines), batch)]
    fn(chunks[0])  # warm
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for chunk in chunks:
            fn(chunk)
            done += len(chunk)
    return done / (time.perf_counter() - started)


def set_threads(scorer: Any, n: int) -> None:
    """Intra-op threads for one cell: torch's count is process-wide, ONNX Runtime's is per session."""
    if scorer.runtime == "torch":
        import torch

        torch.set_num_threads(n)
    else:
        scorer._encoder.set_threads(n)


AGREEMENT_EXTRA = [
    "you are a stupid idiot",
    "women are too emotional to lead",
    "immigrants should not be allowed to vote",
    "i will find where you live and hurt you",
    "holy shit what a play",
    "that play was sick, gg",
]


def agreement(scorers: dict[tuple[str, str], Any], reference: Any) -> None:
    texts = chat_lines(200, seed=7) + AGREEMENT_EXTRA
    ref_vec = reference._encoder.embed(texts, max_tokens=reference._max_tokens)
    ref_scores = reference._heads.probabilities(ref_vec)
    print(
        f"agreement with torch fp32 (its heads) on {len(texts)} lines, each cell with its own heads: "
        "max |embedding diff|, |score diff| max / p99 / median over lines (worst category per line), "
        "max per category; batch: max |embedding in a batch of 64 - alone|"
    )
    for (runtime, mode), scorer in scorers.items():
        vec = scorer._encoder.embed(texts, max_tokens=scorer._max_tokens)
        diff = np.abs(scorer._heads.probabilities(vec) - ref_scores)
        worst = ", ".join(f"{label} {d:.4f}" for label, d in zip(scorer._heads.labels, diff.max(0), strict=True))
        per_line = diff.max(1)
        alone = np.concatenate([scorer._encoder.embed([t], max_tokens=scorer._max_tokens) for t in texts])
        print(
            f"  {runtime:>5} {mode} ({scorer.variant} heads): {np.abs(vec - ref_vec).max():.2e}  {diff.max():.4f} / "
            f"{np.quantile(per_line, 0.99):.4f} / {np.median(per_line):.4f}  ({worst}); "
            f"batch {np.abs(vec - alone).max():.1e}"
        )


def contention(scorer: Any, threads: list[int], seconds: float, runs: int) -> None:
    """Sentence msg/s and event-loop work units/s while both run, per intra-op thread count (medians of runs)."""
    lines = chat_lines(64)

    def unit() -> None:  # ~1 ms of pure-Python work, like a fan-out slice
        end = time.perf_counter() + 0.001
        while time.perf_counter() < end:
            pass

    async def run(with_scorer: bool) -> tuple[float, float]:
        stop = time.perf_counter() + seconds
        done = units = 0

        async def score() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                for i in range(0, 64, 32):
                    await scorer.score(lines[i : i + 32])
                    done += 32

        task = asyncio.create_task(score()) if with_scorer else None
        started = time.perf_counter()
        while time.perf_counter() < stop:
            unit()
            units += 1
            await asyncio.sleep(0)
        if task is not None:
            await task
        elapsed = time.perf_counter() - started
        return done / elapsed, units / elapsed

    # Each pass measures the loop alone right before each thread count, so a busy moment on
    # the shared machine hits a cell and its baseline together.
    cells: dict[int, list[tuple[float, float]]] = {n: [] for n in threads}
    for _ in range(runs):
        for n in threads:
            set_threads(scorer, n)
            _, alone = asyncio.run(run(False))
            msgs, units = asyncio.run(run(True))
            cells[n].append((msgs, units / alone))
    print(f"contention ({scorer.runtime} {scorer.variant}, batch 32, medians of {runs} passes):")
    for n, values in cells.items():
        msgs = statistics.median(v for v, _ in values)
        share = statistics.median(r for _, r in values)
        print(f"  threads {n}: sentence {msgs:.0f} msg/s, event loop {share:.0%} of its rate alone")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", default="1,2", help="comma-separated intra-op thread counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--runtime", choices=("both", "torch", "onnx"), default="both")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batches", default="1,8,32,64", help="'none': skip the batch table")
    parser.add_argument("--skip-chain", action="store_true", help="only load, RSS, agreement and the batch table")
    parser.add_argument("--int8-batched", action="store_true", help="add ONNX int8 batched (not verdict-safe)")
    parser.add_argument(
        "--contention", action="store_true", help="sentence stage vs a busy event loop, per thread count"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    threads = [int(t) for t in args.threads.split(",")]
    batches = [] if args.batches == "none" else [int(b) for b in args.batches.split(",")]
    runtimes = ("torch", "onnx") if args.runtime == "both" else (args.runtime,)
    started = time.perf_counter()
    from safestream.moderation.backends.sentence import SentenceScorer
    from safestream.moderation.heads import DEFAULT_ARTIFACT

    scorers: dict[tuple[str, str], Any] = {}
    for runtime in runtimes:
        for mode in ("fp32", "int8"):
            t = time.perf_counter()
            scorer = SentenceScorer(quantize=mode == "int8", max_tokens=args.max_tokens, runtime=runtime)
            scorer.load_sync()
            assert scorer.runtime == runtime, f"{runtime} asked, {scorer.runtime} loaded"
            if (scorer.variant != "fp32") != (mode == "int8"):
                print(f"skip {runtime} {mode}: the artifact has no heads for it (it fell back to fp32)")
                continue
            scorers[(runtime, mode)] = scorer
            print(
                f"load {runtime} {mode} ({scorer.variant} heads): {time.perf_counter() - t:.2f} s "
                f"(since start {time.perf_counter() - started:.1f} s)"
            )
    if args.int8_batched and ("onnx", "int8") in scorers:
        batched = SentenceScorer(quantize=True, max_tokens=args.max_tokens, runtime="onnx")
        batched.load_sync()
        batched._encoder = copy.copy(batched._encoder)  # the shared encoder keeps running rows alone
        batched._encoder.rows_alone = False
        scorers[("onnx", "int8-batched")] = batched
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS with {len(scorers)} encoders loaded: {rss_mb:.0f} MB; cpu count {os.cpu_count()}")
    reference = scorers.get(("torch", "fp32")) or SentenceScorer(max_tokens=args.max_tokens, runtime="torch")
    if ("torch", "fp32") not in scorers:
        reference.load_sync()
    agreement(scorers, reference)

    lines = chat_lines(64)
    cells: dict[tuple[int, str, str, int], list[float]] = {}
    loads: list[float] = []
    for _ in range(args.runs):
        loads.append(os.getloadavg()[0])
        for batch in batches:
            for n in threads:
                for (runtime, mode), scorer in scorers.items():
                    set_threads(scorer, n)
                    cells.setdefault((batch, runtime, mode, n), []).append(
                        rate(scorer.predict, lines, batch, args.seconds)
                    )
    loads.append(os.getloadavg()[0])
    columns = [(r, m, n) for n in threads for (r, m) in scorers]
    print(
        f"msg/s, median of {args.runs} interleaved passes; load average at each pass "
        f"{', '.join(f'{v:.1f}' for v in loads)}; max tokens {args.max_tokens}"
    )
    print("batch " + " ".join(f"{f'{r} {m} t{n}':>15}" for r, m, n in columns))
    for batch in batches:
        print(f"{batch:>5} " + " ".join(f"{statistics.median(cells[(batch, *c)]):>15.0f}" for c in columns))
    if args.contention:
        for (runtime, mode), scorer in scorers.items():
            print(f"{runtime} {mode}: ", end="")
            contention(scorer, threads, args.seconds, args.runs)
    for scorer in scorers.values():
        scorer._executor.shutdown()
    if args.skip_chain:
        return 0

    from driver.texts import make_messages
    from safestream.moderation.engine import ModerationEngine
    from safestream.settings import Settings

    async def chain() -> float:
        runtime = "auto" if args.runtime == "both" else args.runtime
        settings = Settings(env="test", cascade="band", transformer_runtime=runtime).validated()
        engine = ModerationEngine.from_settings(settings)
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

    print(
        f"default chain, band cascade, batch 256, sentence runtime {args.runtime.replace('both', 'auto')}: "
        f"{asyncio.run(chain()):.0f} msg/s (load average {os.getloadavg()[0]:.1f})"
    )
    for variant, entry in json.loads(DEFAULT_ARTIFACT.read_text())["variants"].items():
        print(f"validation ROC AUC, {variant} heads (committed artifact):", json.dumps(entry["meta"]["auc"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
