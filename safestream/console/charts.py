"""Geometry for the console's server-rendered SVG charts (templates draw them).

Only numbers are computed here; names (top gifters) reach the SVG through the
template, so autoescaping covers them.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 600, 140, 4


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


def toxicity_line(series: list[tuple[int, int, int]]) -> str:
    """SVG polyline points for toxic % per bucket (buckets without messages count as 0 %)."""
    if not series:
        return ""
    step = (WIDTH - 2 * PAD) / max(len(series) - 1, 1)
    points = []
    for i, (_, messages, toxic) in enumerate(series):
        pct = toxic / messages if messages else 0.0
        points.append(f"{PAD + i * step:.1f},{HEIGHT - PAD - pct * (HEIGHT - 2 * PAD):.1f}")
    return " ".join(points)


def volume_bars(series: list[tuple[int, int, int]]) -> list[Bar]:
    if not series:
        return []
    peak = max((m for _, m, _ in series), default=0) or 1
    width = (WIDTH - 2 * PAD) / len(series)
    bars = []
    for i, (_, messages, toxic) in enumerate(series):
        height = (HEIGHT - 2 * PAD) * messages / peak
        bars.append(Bar(PAD + i * width, HEIGHT - PAD - height, max(width - 1, 1), height,
                        f"{messages} messages, {toxic} toxic"))
    return bars


def gifter_bars(top: list[tuple[str, int]], *, width: int = 300, row: int = 22) -> list[tuple[Bar, str, int]]:
    peak = max((amount for _, amount in top), default=0) or 1
    return [(Bar(0, i * row, max((width - 120) * amount / peak, 2), row - 6, name), name, amount)
            for i, (name, amount) in enumerate(top)]


def percent(series: list[tuple[int, int, int]]) -> float:
    messages = sum(m for _, m, _ in series)
    return round(100.0 * sum(t for _, _, t in series) / messages, 1) if messages else 0.0
