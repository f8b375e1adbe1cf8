"""Counters behind ``GET /metrics``: messages moderated, toxic ones, gifts."""

from __future__ import annotations

from collections import Counter
from typing import Any

from safestream.chat.rooms import Rooms


class Metrics:
    def __init__(self, rooms: Rooms) -> None:
        self._rooms = rooms
        self.messages: Counter[str] = Counter()
        self.toxic: Counter[str] = Counter()
        self.gifts: Counter[str] = Counter()
        self.moderation_failures = 0

    def record_message(self, stream: str, *, toxic: bool) -> None:
        self.messages[stream] += 1
        if toxic:
            self.toxic[stream] += 1

    def record_gift(self, stream: str) -> None:
        self.gifts[stream] += 1

    def reset(self) -> None:
        self.messages.clear()
        self.toxic.clear()
        self.gifts.clear()
        self.moderation_failures = 0

    def snapshot(self, stream: str | None = None) -> dict[str, Any]:
        if stream is None:
            messages, toxic = sum(self.messages.values()), sum(self.toxic.values())
            gifts = sum(self.gifts.values())
            viewers = sum(room.viewer_count for room in self._rooms.all())
        else:
            messages, toxic, gifts = self.messages[stream], self.toxic[stream], self.gifts[stream]
            room = self._rooms.get(stream)
            viewers = room.viewer_count if room else 0
        pct = round(100.0 * toxic / messages, 2) if messages else 0.0
        result: dict[str, Any] = {"viewer_count": viewers, "gift_count": gifts, "toxic_pct": pct,
                                  "message_count": messages}
        if stream is not None:
            result["stream"] = stream
        return result
