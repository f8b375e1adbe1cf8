"""Sliding-window rate limits, keyed by user (or IP).

``check`` is synchronous and cheap: it runs on every chat message before
anything is awaited, which is also what keeps one user's messages in arrival
order.

A key's hits are a sorted list, not a deque: an empty deque is 600 bytes, and
the join limiter holds one key per connected socket (20,000 of them).
"""

from __future__ import annotations

import bisect
import time
from collections import deque


class SlidingWindowLimiter:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, list[float]] = {}

    def check(self, key: str, now: float | None = None) -> float | None:
        """Records a hit and returns None, or returns seconds until one is allowed."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = []
        _expire(hits, now - self.window)
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.001)
        hits.append(now)
        return None

    def blocked(self, key: str, now: float | None = None) -> bool:
        """True when ``key`` has used its window up (without recording a hit)."""
        return self.retry_after(key, now) > 0

    def retry_after(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if not hits:
            return 0.0
        _expire(hits, now - self.window)
        return max(hits[0] + self.window - now, 0.0) if len(hits) >= self.limit else 0.0

    def sweep(self, now: float | None = None) -> None:
        """Forgets keys with no hits inside the window (bounded memory)."""
        now = time.monotonic() if now is None else now
        cutoff = now - self.window
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[key]

    def forget(self, key: str) -> None:
        self._hits.pop(key, None)

    def reset(self) -> None:
        self._hits.clear()


def _expire(hits: list[float], cutoff: float) -> None:
    """Drops the hits at or before ``cutoff`` (they are in time order)."""
    if hits and hits[0] <= cutoff:
        del hits[: bisect.bisect_right(hits, cutoff)]


class WindowBudget:
    """A budget of work units (e.g. replayed messages) per key per sliding window.

    Unlike ``SlidingWindowLimiter`` a hit can cost many units, so one expensive
    request uses up what many cheap ones would.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._totals: dict[str, int] = {}

    def _expire(self, key: str, now: float) -> deque[tuple[float, int]] | None:
        spent = self._spent.get(key)
        if spent is None:
            return None
        cutoff = now - self.window
        while spent and spent[0][0] <= cutoff:
            self._totals[key] -= spent.popleft()[1]
        return spent

    def remaining(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        self._expire(key, now)
        return max(self.limit - self._totals.get(key, 0), 0)

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Seconds until some budget is back (0 when some is left)."""
        now = time.monotonic() if now is None else now
        spent = self._expire(key, now)
        if self.remaining(key, now) > 0 or not spent:
            return 0.0
        return max(spent[0][0] + self.window - now, 0.001)

    def spend(self, key: str, units: int, now: float | None = None) -> None:
        if units <= 0:
            return
        now = time.monotonic() if now is None else now
        self._spent.setdefault(key, deque()).append((now, units))
        self._totals[key] = self._totals.get(key, 0) + units

    def forget(self, key: str) -> None:
        self._spent.pop(key, None)
        self._totals.pop(key, None)

    def sweep(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in list(self._spent):
            spent = self._expire(key, now)
            if not spent:
                self.forget(key)
