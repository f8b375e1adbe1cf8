"""Throughput of normalize() and TermList.find() on synthetic chat messages.

Usage: python load/bench_normalize.py [--messages 100000] [--runs 5] [--seed 1]

Prints messages per second (median of the runs) for: normalize alone, find on
pre-normalized text (what the keywords backend does), the two together, and
mask() on the messages that hold a blocked term. One core, pure Python.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from driver.texts import make_messages
from safestream.moderation.normalize import normalize
from safestream.moderation.terms import TermList


def rate(fn: Callable[[Sequence[str]], object], items: Sequence[str], runs: int) -> float:
    """Median items per second over ``runs`` timed passes."""
    rates: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(items)
        rates.append(len(items) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    messages = make_messages(args.messages, args.seed)
    terms = TermList.default()
    normalized = [normalize(m) for m in messages]  # also warms the fold cache
    hits = [m for m, n in zip(messages, normalized, strict=True) if terms.find(n)]

    results = {
        "normalize()": rate(lambda xs: [normalize(x) for x in xs], messages, args.runs),
        "TermList.find() on normalized": rate(lambda xs: [terms.find(x) for x in xs], normalized, args.runs),
        "normalize() + find()": rate(lambda xs: [terms.find(normalize(x)) for x in xs], messages, args.runs),
        "TermList.mask() (hits only)": rate(lambda xs: [terms.mask(x) for x in xs], hits, args.runs),
    }
    mean_len = statistics.mean(map(len, messages))
    print(
        f"{len(messages)} messages (mean {mean_len:.1f} chars), {len(hits)} with a blocked term, "
        f"median of {args.runs} runs"
    )
    for label, value in results.items():
        print(f"  {label:32s} {value:>12,.0f} msg/s")


if __name__ == "__main__":
    main()
