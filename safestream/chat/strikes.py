"""Strikes: repeated non-allowed messages in a stream turn into timed mutes.

Each further mute of the same user in the same stream doubles the duration
(5 min, 10 min, 20 min ... with the default policy's numbers).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from safestream.moderation.policy import Strikes


class StrikeCounter:
    def __init__(self) -> None:
        self._hits: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._mutes: defaultdict[tuple[str, str], int] = defaultdict(int)

    def strike(self, stream: str, username: str, rule: Strikes, now: float | None = None) -> float | None:
        """Records a strike; returns the mute duration (seconds) when the user struck out."""
        now = time.monotonic() if now is None else now
        key = (stream, username)
        hits = self._hits[key]
        hits.append(now)
        while hits and hits[0] <= now - rule.window_secs:
            hits.popleft()
        if len(hits) < rule.count:
            return None
        hits.clear()
        previous = self._mutes[key]
        self._mutes[key] = previous + 1
        return float(rule.mute_secs * (2 ** min(previous, 10)))

    def standing(self, stream: str, username: str, window: float, now: float | None = None) -> tuple[int, int]:
        """(strikes within ``window`` now, strike-outs so far) for one user in one stream."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get((stream, username), ())
        return sum(1 for t in hits if t > now - window), self._mutes.get((stream, username), 0)

    def sweep(self, window: float = 3600.0, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - window]:
            del self._hits[key]
