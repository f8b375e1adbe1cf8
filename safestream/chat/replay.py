"""What ``join`` sends back: the recent history, or a reconnect's missed messages.

A join is cheap to send and can be expensive to answer (a replay of hundreds
of messages, maybe a database query), so it is bounded three ways: joins per
socket per window, messages replayed per socket per window (the budget), and
replays served from the in-memory ring whenever it reaches back far enough.
"""

from __future__ import annotations

from typing import Any

from safestream.chat.ratelimit import SlidingWindowLimiter, WindowBudget
from safestream.chat.rooms import Room, Rooms, chat_payload_from_row
from safestream.errors import InvalidPayload, RateLimited
from safestream.storage import messages as message_store
from safestream.storage.db import SessionMaker
from safestream.storage.writer import WriteBehind

#: At most this many missed messages are replayed to a reconnecting client.
RECOVERY_LIMIT = 500
#: Ids are stored as signed 64-bit integers; a larger ``since`` cannot be a real id.
MAX_ID = 2**63 - 1
JOIN_WINDOW_SECS = 10.0
BUDGET_WINDOW_SECS = 60.0


def check_since(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise InvalidPayload(f"since must be the last message id you saw (an integer 0..{MAX_ID})")
    return value


class Replays:
    def __init__(
        self, rooms: Rooms, sessions: SessionMaker, writer: WriteBehind, *, joins_per_window: int, budget: int
    ) -> None:
        self._rooms = rooms
        self._sessions = sessions
        self._writer = writer
        self.joins = SlidingWindowLimiter(joins_per_window, JOIN_WINDOW_SECS)
        self.budget = WindowBudget(budget, BUDGET_WINDOW_SECS)

    def admit(self, sid: str) -> None:
        """Raises ``rate_limited`` for a socket over its join rate or replay budget.

        Called before the socket enters the room, so a refused join has no effect.
        """
        if (wait := self.budget.retry_after(sid)) > 0:
            raise RateLimited(
                "too many messages replayed to this connection; wait before joining again", retry_after=wait
            )
        if (retry := self.joins.check(sid)) is not None:
            raise RateLimited("too many joins; slow down", retry_after=retry)

    async def history(self, sid: str, room: Room, since: int | None) -> tuple[list[dict[str, Any]], bool]:
        """The last messages, or everything after ``since`` (within the budget); and the gap flag."""
        allowance = self.budget.remaining(sid)
        if since is None:
            history = await self._rooms.recent(room, min(self._rooms.history_size, allowance))
            self.budget.spend(sid, len(history))
            return history, False
        limit = min(RECOVERY_LIMIT, allowance)
        missed = await self._rooms.replay(room, since)
        if missed is not None:
            self.budget.spend(sid, min(len(missed), limit))
            return missed[-limit:] if len(missed) > limit else missed, len(missed) > limit
        await self._writer.flush_all()  # the rows the client missed may still be buffered
        rows = await message_store.recent_visible(self._sessions, stream=room.slug, limit=limit + 1, after_seq=since)
        gap = len(rows) > limit
        replayed = [chat_payload_from_row(row) for row in rows[-limit:]] if limit else []
        self.budget.spend(sid, len(replayed))
        return replayed, gap

    def forget(self, sid: str) -> None:
        self.joins.forget(sid)
        self.budget.forget(sid)

    def sweep(self) -> None:
        self.joins.sweep()
        self.budget.sweep()
