"""Counters behind ``GET /metrics`` and the console's charts.

Besides totals it keeps, per stream, a rolling timeline of 10-second buckets
(messages and toxic ones, the last 10 minutes) and a gifters leaderboard.

The database is the record: ``rebuild`` fills every counter from the stored
messages and gift events at start-up (counted since the last audited reset,
``since``), and the send path and the gift service keep them incrementally
after. Gifts are counted two ways, each with its own name: ``gifts`` counts
gift events, ``gift_amounts`` sums their amounts (what the leaderboard ranks).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from datetime import UTC, datetime
from typing import Any

from safestream.chat.rooms import Rooms
from safestream.cluster import Cluster
from safestream.storage.stats import StoredFigures

BUCKET_SECS = 10
TIMELINE_BUCKETS = 60
#: The toxicity chart plots the rate over this many trailing buckets (60 s), not each bucket alone.
ROLLING_BUCKETS = 6


class Metrics:
    def __init__(self, rooms: Rooms, cluster: Cluster) -> None:
        self._rooms = rooms
        self._cluster = cluster
        self.messages: Counter[str] = Counter()
        self.toxic: Counter[str] = Counter()
        self.gifts: Counter[str] = Counter()
        self.gift_amounts: Counter[str] = Counter()
        #: Start of the counting window: the last reset (None: everything stored).
        self.since: datetime | None = None
        self.gifters: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.timeline: defaultdict[str, deque[list[int]]] = defaultdict(lambda: deque(maxlen=TIMELINE_BUCKETS))
        self.moderation_failures = 0

    def record_message(self, stream: str, *, toxic: bool) -> None:
        self.messages[stream] += 1
        if toxic:
            self.toxic[stream] += 1
        self._add_to_timeline(stream, toxic, time.time())

    def _add_to_timeline(self, stream: str, toxic: bool, at: float) -> None:
        bucket = int(at) // BUCKET_SECS * BUCKET_SECS
        line = self.timeline[stream]
        if not line or line[-1][0] < bucket:
            line.append([bucket, 0, 0])
        target = line[-1] if line[-1][0] == bucket else next((b for b in line if b[0] == bucket), None)
        if target is not None:  # None: older than the timeline keeps
            target[1] += 1
            target[2] += toxic

    def record_gift(self, stream: str, sender: str = "", amount: int = 1) -> None:
        self.gifts[stream] += 1
        self.gift_amounts[stream] += amount
        if sender:
            self.gifters[stream][sender] += amount

    def reset(self, *, since: datetime | None = None) -> None:
        """Starts a new counting window (stored messages and gifts are kept)."""
        self.messages.clear()
        self.toxic.clear()
        self.gifts.clear()
        self.gift_amounts.clear()
        self.gifters.clear()
        self.timeline.clear()
        self.moderation_failures = 0
        self.since = since or datetime.now(UTC)

    def rebuild(self, stored: StoredFigures, *, since: datetime | None) -> None:
        """Counters from the database (at start-up, before any traffic)."""
        self.reset(since=since)
        self.since = since
        self.messages.update(stored.messages)
        self.toxic.update(stored.toxic)
        self.gifts.update(stored.gifts)
        self.gift_amounts.update(stored.gift_amounts)
        for stream, by_sender in stored.gifters.items():
            self.gifters[stream].update(by_sender)
        for stream, sent, toxic in sorted(stored.recent, key=lambda r: _utc(r[1])):
            self._add_to_timeline(stream, toxic, _utc(sent).timestamp())  # the totals already count them

    def rolling_toxicity(self, stream: str, *, now: float | None = None) -> list[tuple[int, float | None]]:
        """(bucket start, toxic % over the trailing minute) per bucket; None where nobody spoke."""
        series = self.series(stream, now=now)
        out: list[tuple[int, float | None]] = []
        for i, (bucket, _, _) in enumerate(series):
            window = series[max(0, i - ROLLING_BUCKETS + 1) : i + 1]
            messages = sum(m for _, m, _ in window)
            out.append((bucket, round(100.0 * sum(t for _, _, t in window) / messages, 1) if messages else None))
        return out

    def series(self, stream: str, *, now: float | None = None) -> list[tuple[int, int, int]]:
        """(bucket start, messages, toxic) for the last 10 minutes, empty buckets included."""
        end = int(time.time() if now is None else now) // BUCKET_SECS * BUCKET_SECS
        filled = {b: (m, t) for b, m, t in self.timeline.get(stream, ())}
        return [
            (b, *filled.get(b, (0, 0))) for b in range(end - (TIMELINE_BUCKETS - 1) * BUCKET_SECS, end + 1, BUCKET_SECS)
        ]

    def top_gifters(self, stream: str, n: int = 5) -> list[tuple[str, int]]:
        return self.gifters[stream].most_common(n) if stream in self.gifters else []

    async def viewer_count(self, stream: str) -> int:
        shared = await self._cluster.viewer_count(stream)
        if shared is not None:
            return shared
        room = self._rooms.get(stream)
        return room.viewer_count if room else 0

    async def snapshot(self, stream: str | None = None) -> dict[str, Any]:
        """Figures for one stream or all; cluster-wide when processes share Redis."""
        shared = await self._cluster.metrics(stream)
        amounts = sum(self.gift_amounts.values()) if stream is None else self.gift_amounts[stream]
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
        result: dict[str, Any] = {
            "viewer_count": viewers,
            "gift_count": gifts,
            "gift_amount": amounts,
            "toxic_pct": pct,
            "message_count": messages,
            "moderation_failures": self.moderation_failures,
            "since": self.since.isoformat().replace("+00:00", "Z") if self.since else None,
        }
        if stream is not None:
            result["stream"] = stream
        return result


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)  # SQLite hands back naive UTC
