"""Counters behind ``GET /metrics`` and the console's charts.

Besides totals it keeps, per stream, a rolling timeline of 10-second buckets
(messages and toxic ones, the last 10 minutes) and a gifters leaderboard.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from typing import Any

from safestream.chat.rooms import Rooms

BUCKET_SECS = 10
TIMELINE_BUCKETS = 60


class Metrics:
    def __init__(self, rooms: Rooms) -> None:
        self._rooms = rooms
        self.messages: Counter[str] = Counter()
        self.toxic: Counter[str] = Counter()
        self.gifts: Counter[str] = Counter()
        self.gifters: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.timeline: defaultdict[str, deque[list[int]]] = defaultdict(lambda: deque(maxlen=TIMELINE_BUCKETS))
        self.moderation_failures = 0

    def record_message(self, stream: str, *, toxic: bool) -> None:
        self.messages[stream] += 1
        if toxic:
            self.toxic[stream] += 1
        bucket = int(time.time()) // BUCKET_SECS * BUCKET_SECS
        line = self.timeline[stream]
        if not line or line[-1][0] != bucket:
            line.append([bucket, 0, 0])
        line[-1][1] += 1
        line[-1][2] += toxic

    def record_gift(self, stream: str, sender: str = "", amount: int = 1) -> None:
        self.gifts[stream] += 1
        if sender:
            self.gifters[stream][sender] += amount

    def reset(self) -> None:
        self.messages.clear()
        self.toxic.clear()
        self.gifts.clear()
        self.gifters.clear()
        self.timeline.clear()
        self.moderation_failures = 0

    def series(self, stream: str, *, now: float | None = None) -> list[tuple[int, int, int]]:
        """(bucket start, messages, toxic) for the last 10 minutes, empty buckets included."""
        end = int(time.time() if now is None else now) // BUCKET_SECS * BUCKET_SECS
        filled = {b: (m, t) for b, m, t in self.timeline.get(stream, ())}
        return [(b, *filled.get(b, (0, 0))) for b in range(end - (TIMELINE_BUCKETS - 1) * BUCKET_SECS,
                                                             end + 1, BUCKET_SECS)]

    def top_gifters(self, stream: str, n: int = 5) -> list[tuple[str, int]]:
        return self.gifters[stream].most_common(n) if stream in self.gifters else []

    async def viewer_count(self, stream: str) -> int:
        cluster = self._rooms.cluster
        shared = await cluster.viewer_count(stream) if cluster.shared else None
        if shared is not None:
            return shared
        room = self._rooms.get(stream)
        return room.viewer_count if room else 0

    async def snapshot(self, stream: str | None = None) -> dict[str, Any]:
        """Figures for one stream or all; cluster-wide when processes share Redis."""
        shared = await self._rooms.cluster.metrics(stream) if self._rooms.cluster.shared else None
        if shared is not None:
            messages, toxic, gifts = shared["messages"], shared["toxic"], shared["gifts"]
        elif stream is None:
            messages, toxic = sum(self.messages.values()), sum(self.toxic.values())
            gifts = sum(self.gifts.values())
        else:
            messages, toxic, gifts = self.messages[stream], self.toxic[stream], self.gifts[stream]
        if stream is None:
            viewers = sum([await self.viewer_count(room.slug) for room in self._rooms.all()])
        else:
            viewers = await self.viewer_count(stream)
        pct = round(100.0 * toxic / messages, 2) if messages else 0.0
        result: dict[str, Any] = {"viewer_count": viewers, "gift_count": gifts, "toxic_pct": pct,
                                  "message_count": messages, "moderation_failures": self.moderation_failures}
        if stream is not None:
            result["stream"] = stream
        return result
