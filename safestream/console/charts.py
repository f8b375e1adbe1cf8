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


def toxicity_segments(rolling: list[tuple[int, float | None]]) -> list[str]:
    """SVG polyline points for the rolling toxic %, one run per stretch with messages.

    A minute nobody spoke in has no rate at all: the line stops there rather than
    drop to 0 %, so a quiet stream does not look clean and a lone message does not
    look like a raid.
    """
    if not rolling:
        return []
    step = (WIDTH - 2 * PAD) / max(len(rolling) - 1, 1)
    runs: list[list[str]] = [[]]
    for i, (_, pct) in enumerate(rolling):
        if pct is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{PAD + i * step:.1f},{HEIGHT - PAD - pct / 100 * (HEIGHT - 2 * PAD):.1f}")
    return [" ".join(run) for run in runs if run]


def latest(rolling: list[tuple[int, float | None]]) -> float | None:
    """The rate now: the chart's last point, and the number the Toxic tile shows."""
    return rolling[-1][1] if rolling else None


def volume_bars(series: list[tuple[int, int, int]]) -> list[Bar]:
    if not series:
        return []
    peak = max((m for _, m, _ in series), default=0) or 1
    width = (WIDTH - 2 * PAD) / len(series)
    bars = []
    for i, (_, messages, toxic) in enumerate(series):
        height = (HEIGHT - 2 * PAD) * messages / peak
        bars.append(
            Bar(
                PAD + i * width, HEIGHT - PAD - height, max(width - 1, 1), height, f"{messages} messages, {toxic} toxic"
            )
        )
    return bars


def gifter_bars(top: list[tuple[str, int]], *, width: int = 300, row: int = 22) -> list[tuple[Bar, str, int]]:
    peak = max((amount for _, amount in top), default=0) or 1
    return [
        (Bar(0, i * row, max((width - 120) * amount / peak, 2), row - 6, name), name, amount)
        for i, (name, amount) in enumerate(top)
    ]
