"""Percentiles, medians of runs and number formatting, shared so every script computes them alike."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = (len(data) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def percentiles(values: Sequence[float], ps: Iterable[float] = (50, 95, 99)) -> dict[float, float]:
    return {p: percentile(values, p) for p in ps}


def rank_percentile(values: Sequence[float], q: float) -> float:
    """The value at rank ``int(q * n)`` (q in 0..1) of the sorted values: a sample that occurred; NaN when empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def hist_percentiles(hist: Mapping[int, int], ps: Iterable[float], *, unit: float) -> dict[float, float]:
    """Percentiles of a histogram ``{bucket: count}`` (bucket * unit = value, bucket's upper edge)."""
    total = sum(hist.values())
    out: dict[float, float] = {}
    if total == 0:
        return {p: float("nan") for p in ps}
    ordered = sorted(hist.items())
    for p in ps:
        rank = max(1, int(total * p / 100.0 + 0.999999))  # nearest rank, never 0
        seen = 0
        for bucket, count in ordered:
            seen += count
            if seen >= rank:
                out[p] = (bucket + 1) * unit
                break
    return out


def median(values: Sequence[float]) -> float:
    """The median, skipping NaN (a run without the figure); NaN when none has it."""
    clean = [v for v in values if not math.isnan(v)]
    return percentile(clean, 50) if clean else float("nan")


def fmt(value: float, digits: int = 1) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"
