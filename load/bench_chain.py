"""The full default chain in band mode: msg/s of the cheap part and of the whole chain, what is routed and why, us/msg per stage.

    python load/bench_chain.py [--messages 20000] [--batch 256] [--runs 3] [--no-cache] [--band 0.15]

The chat mix is ``driver.chat_mix`` (seeded; ~20% copy-paste, the rest mostly
distinct). Each run builds a fresh engine (empty cache) and scores the mix in
batches of ``--batch`` with ``escalate_all=False`` (what the server does under
load). Two configurations:

* ``cheap``: the real chain with the sentence stage replaced by one that
  returns at once: normalize, verdict cache, alt-profanity-check and routing,
  i.e. what the chain costs when the model is free;
* ``full``: the real default chain.

Per configuration it prints the median msg/s of ``--runs`` plain runs, then
one more, instrumented run gives us/msg (CPU time of the calls, over all
messages) per stage: normalize, cache, profanity, routing (of it, the term
list), the sentence stage, the executor hops (stage wall time minus the
scorer's own time), the engine's own bookkeeping, and the default policy's
judgement (term lists and levels, run after the engine on every message; not
in msg/s). Last, the share the sentence stage newly read, by reason and by
kind of line. The load average is printed with the figures: the machine is
shared, figures are provisional. It is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from driver.chat_mix import chat_mix
from safestream.moderation import engine as engine_module
from safestream.moderation.contract import Scorer, Scores
from safestream.moderation.engine import ModerationEngine, Stage
from safestream.moderation.policy import Policy
from safestream.settings import Settings


class FreeModel(Scorer):
    """Stands in for the sentence stage in ``cheap``: reads nothing, costs nothing."""

    name = "free"

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        return [{} for _ in texts]


class Clock:
    """CPU seconds spent in wrapped calls, by name (thread CPU time: the machine is shared).

    Reading the thread's CPU clock is a system call; ``corrected`` subtracts
    what a wrapped call that does nothing records, times the number of calls.
    """

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.thread_time() - started
                self.calls[name] += 1

        return timed

    def corrected(self) -> dict[str, float]:
        probe = Clock()
        nothing = probe.wrap("nothing", lambda: None)
        for _ in range(20000):
            nothing()
        overhead = probe.seconds["nothing"] / probe.calls["nothing"]
        return {name: max(0.0, sec - self.calls[name] * overhead) for name, sec in self.seconds.items()}


async def build(cheap_only: bool, band: float | None, cache: bool) -> ModerationEngine:
    settings = Settings(env="test", cascade="band").validated()
    engine = ModerationEngine.from_settings(settings)
    if cheap_only:
        engine.stages = [s for s in engine.stages if not s.expensive] + [Stage("sentence", FreeModel(), True)]
    if band is not None:
        engine.band = (band, engine.band[1])
        engine.router.low = band
    if not cache:
        engine.cache.size = 0
    await engine.load()
    await engine.assess(["warm up the model", "you are warm"], escalate_all=True)
    engine.cache._entries.clear()
    engine.cache.hits = engine.cache.misses = 0
    engine.routed.clear()
    for stage in engine.stages:
        stage.seconds = 0.0
    return engine


def instrument(engine: ModerationEngine, clock: Clock, kinds: dict[str, str], why: Counter[tuple[str, str]]) -> None:
    engine_module.normalize = clock.wrap("normalize", engine_module.normalize)  # type: ignore[attr-defined]
    engine.cache.get = clock.wrap("cache", engine.cache.get)  # type: ignore[method-assign]
    engine.cache.put = clock.wrap("cache", engine.cache.put)  # type: ignore[method-assign]
    terms = engine.router.terms
    terms.find = clock.wrap("term list (routing)", terms.find)  # type: ignore[method-assign]
    reason = clock.wrap("routing", engine.router.reason)

    def reason_recorded(normalized: str, cheap_score: float | None) -> str | None:
        out = reason(normalized, cheap_score)
        if out is not None:
            why[(out, kinds.get(normalized, "?"))] += 1
        return out

    engine.router.reason = reason_recorded  # type: ignore[method-assign]
    for stage in engine.stages:
        predict = getattr(stage.scorer, "predict", None)
        if predict is not None:
            stage.scorer.predict = clock.wrap(stage.name, predict)  # type: ignore[attr-defined]
        else:
            stage.scorer.score = clock.wrap(stage.name, stage.scorer.score)  # type: ignore[method-assign]


async def one_run(
    messages: list[str], args: argparse.Namespace, cheap_only: bool, kinds: dict[str, str] | None
) -> dict[str, Any]:
    engine = await build(cheap_only, args.band, not args.no_cache)
    clock, why = Clock(), Counter[tuple[str, str]]()
    original_normalize = engine_module.normalize
    if kinds is not None:
        instrument(engine, clock, kinds, why)
    try:
        latencies, escalated, results = [], 0, []
        started, cpu_started = time.perf_counter(), time.process_time()
        for i in range(0, len(messages), args.batch):
            t = time.perf_counter()
            batch = await engine.assess(messages[i : i + args.batch])
            latencies.append(time.perf_counter() - t)
            escalated += sum(r.escalated for r in batch)
            results += batch
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if kinds is not None:
            policy = Policy.default(Settings(env="test").validated().toxic_threshold)
            judge = clock.wrap("policy (term lists, levels)", policy.judge)
            for text, result in zip(messages, results, strict=True):
                judge(text, result.normalized, result.scores, failed=result.failed)
        cuts = statistics.quantiles(latencies, n=100)
        return {
            "rate": len(messages) / elapsed,
            "cpu_us": cpu / len(messages) * 1e6,
            "share": escalated / len(messages),
            "newly": sum(engine.routed.values()) / len(messages),
            "hits": engine.cache.hits / len(messages),
            "p50": cuts[49] * 1000,
            "p99": cuts[98] * 1000,
            "clock": clock.corrected(),
            "stage_wall": {s.name: s.seconds for s in engine.stages},
            "elapsed": elapsed,
            "why": why,
            "reasons": dict(engine.routed),
        }
    finally:
        engine_module.normalize = original_normalize  # type: ignore[attr-defined]
        await engine.close()


def stage_table(run: dict[str, Any], count: int) -> list[str]:
    """us/msg per stage (wrapped CPU time), the executor hops (wall), and the rest of the process's CPU."""
    clock: dict[str, float] = run["clock"]
    per = {name: sec / count * 1e6 for name, sec in clock.items()}
    hops = sum(run["stage_wall"].values()) - sum(clock.get(s, 0.0) for s in run["stage_wall"])
    measured = sum(per.get(k, 0.0) for k in ("normalize", "cache", "routing", *run["stage_wall"]))
    lines = []
    for name in ("normalize", "cache", "profanity", "routing", "term list (routing)", "sentence"):
        if name in per:
            note = " (part of routing)" if name == "term list (routing)" else ""
            lines.append(f"    {name:32s} {per[name]:8.1f} us/msg{note}")
    lines.append(f"    {'engine, asyncio, the rest':32s} {run['cpu_us'] - measured:8.1f} us/msg")
    lines.append(f"    {'= process CPU, all threads':32s} {run['cpu_us']:8.1f} us/msg")
    lines.append(f"    {'stage wall minus scorer CPU':32s} {hops / count * 1e6:8.1f} us/msg (executor hops, waits)")
    policy = per.get("policy (term lists, levels)")
    if policy is not None:
        lines.append(f"    {'policy, after the engine':32s} {policy:8.1f} us/msg (term lists, levels; not in msg/s)")
    return lines


def routing_table(run: dict[str, Any], kinds: Counter[str], count: int) -> list[str]:
    why: Counter[tuple[str, str]] = run["why"]
    names = sorted(kinds)
    lines = ["    newly read, share of all messages, by reason (rows) and kind of line (columns):"]
    lines.append("    " + " " * 14 + "".join(f"{k:>10s}" for k in names) + f"{'all':>9s}")
    for reason in sorted({r for r, _ in why}):
        cells = "".join(f"{why[(reason, k)] / count:>10.2%}" for k in names)
        lines.append(f"    {reason:14s}{cells}{sum(v for (r, _), v in why.items() if r == reason) / count:>9.2%}")
    lines.append("    " + f"{'(mix)':14s}" + "".join(f"{kinds[k] / count:>10.1%}" for k in names))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copies", type=float, default=0.2, help="share of copy-paste lines")
    parser.add_argument("--band", type=float, help="the band's low end (default: the setting, 0.15)")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--only", choices=("cheap", "full"), help="run one configuration only")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    mix = chat_mix(args.messages, 7, args.copies)
    messages = [text for _, text in mix]
    kinds: dict[str, str] = {}
    for kind, text in mix:
        kinds.setdefault(engine_module.normalize(text), kind)
    print(
        f"{len(messages)} messages, {len(set(messages))} distinct; batch {args.batch}; "
        f"cache {'off' if args.no_cache else 'on'}; load average {os.getloadavg()[0]:.1f}"
    )
    for label, cheap_only in (("cheap stages (sentence stage free)", True), ("full default chain", False)):
        if args.only is not None and args.only != ("cheap" if cheap_only else "full"):
            continue
        runs = [asyncio.run(one_run(messages, args, cheap_only, None)) for _ in range(args.runs)]
        timed = asyncio.run(one_run(messages, args, cheap_only, kinds))
        med = {k: statistics.median(r[k] for r in runs) for k in ("rate", "share", "newly", "hits", "p50", "p99")}
        rates = ", ".join(f"{r['rate']:.0f}" for r in runs)
        print(
            f"{label}: {med['rate']:.0f} msg/s (runs: {rates}); "
            f"read by the model {med['share']:.1%}, newly {med['newly']:.1%}; cache hits {med['hits']:.1%}; "
            f"batch p50 {med['p50']:.1f} ms, p99 {med['p99']:.1f} ms; load average {os.getloadavg()[0]:.1f}"
        )
        print("  per stage (one instrumented run, CPU time over all messages):")
        print("\n".join(stage_table(timed, len(messages))))
        if not cheap_only:
            print("\n".join(routing_table(timed, Counter(kind for kind, _ in mix), len(messages))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
