"""Live per-stream state: sequence numbers, recent history and who is watching.

A room is loaded from the database the first time it is used (its highest
stored ids and last messages), after which allocating an id or appending to
history is a synchronous step of the send path: ids are handed out in the
order messages leave moderation, which is the order they are broadcast.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from safestream.chat.payloads import chat_payload
from safestream.cluster import Cluster, InProcessCluster
from safestream.errors import InvalidPayload, NoSuchStream
from safestream.storage import messages as message_store
from safestream.storage import stream_rows as stream_store
from safestream.storage.db import SessionMaker

STREAM_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def check_stream_name(value: Any) -> str:
    # fullmatch: with match, "$" also matches before a final newline ("main\n").
    if not isinstance(value, str) or not STREAM_RE.fullmatch(value):
        raise InvalidPayload("stream must match ^[a-z0-9][a-z0-9_-]{0,39}$", code="invalid_stream")
    return value


def room_name(stream: str) -> str:
    return f"stream:{stream}"


@dataclass(slots=True)
class Room:
    slug: str
    title: str
    owner: str
    live: bool
    chat_seq: int = 0
    gift_seq: int = 0
    #: The replay ring: the newest visible messages, oldest first.
    history: deque[dict[str, Any]] = field(default_factory=deque)
    #: Every visible message with an id above this is in ``history``: a client that
    #: saw up to ``floor`` (or later) is replayed from memory, not the database.
    floor: int = 0
    #: username -> number of that user's sockets in the room (tabs count once).
    viewers: Counter[str] = field(default_factory=Counter)

    @property
    def viewer_count(self) -> int:
        return len(self.viewers)

    def forget(self, ids: Iterable[int]) -> None:
        """Removed messages leave the replay ring (a moderator removed them)."""
        drop = set(ids)
        kept = [m for m in self.history if m["id"] not in drop]
        self.history.clear()
        self.history.extend(kept)

    def add_viewer(self, username: str) -> bool:
        """True when this is the user's first socket in the room (the count changed)."""
        self.viewers[username] += 1
        return self.viewers[username] == 1

    def remove_viewer(self, username: str) -> bool:
        if username not in self.viewers:
            return False
        self.viewers[username] -= 1
        if self.viewers[username] <= 0:
            del self.viewers[username]
            return True
        return False


class Rooms:
    def __init__(
        self, sessions: SessionMaker, *, history_size: int, ring_size: int = 0, cluster: Cluster | None = None
    ) -> None:
        self._sessions = sessions
        self.history_size = history_size
        #: The ring is larger than the join history so reconnect replays come from memory.
        self.ring_size = max(history_size, ring_size)
        self.cluster = cluster or InProcessCluster()
        self._rooms: dict[str, Room] = {}

    def get(self, slug: str) -> Room | None:
        return self._rooms.get(slug)

    def all(self) -> list[Room]:
        return list(self._rooms.values())

    async def load(self, slug: str) -> Room:
        """The room for ``slug``, loaded from the database on first use."""
        room = self._rooms.get(slug)
        if room is not None:
            return room
        stream = await stream_store.get_stream(self._sessions, slug=slug)
        if stream is None:
            raise NoSuchStream(slug)
        chat_seq, gift_seq = await message_store.max_seq(self._sessions, stream=slug)
        recent = await message_store.recent_visible(self._sessions, stream=slug, limit=self.ring_size)
        room = self._rooms.get(slug)  # another task may have loaded it while we awaited
        if room is None:
            full = len(recent) >= self.ring_size
            room = Room(
                slug=slug,
                title=stream.title,
                owner=stream.owner,
                live=stream.live,
                chat_seq=chat_seq,
                gift_seq=gift_seq,
                history=deque((chat_payload_from_row(m) for m in recent), maxlen=self.ring_size),
                floor=recent[0].seq - 1 if full and recent else 0,
            )
            self._rooms[slug] = room
        return room

    async def reserve_ids(self, room: Room, kind: str, n: int) -> int:
        """The first of ``n`` consecutive ids for the room's chat or gift events.

        One process counts in memory; a cluster takes them from one Redis
        counter (one round trip per stream per batch) so ids stay increasing.
        """
        local = room.chat_seq if kind == "chat" else room.gift_seq
        first = await self.cluster.next_ids(f"{kind}:{room.slug}", n, floor=local)
        if first is None:
            first = local + 1
        last = max(local, first + n - 1)
        if kind == "chat":
            room.chat_seq = last
        else:
            room.gift_seq = last
        return first

    async def add_history(self, room: Room, payloads: list[dict[str, Any]]) -> None:
        overflow = len(room.history) + len(payloads) - self.ring_size
        if overflow > 0:  # what the ring forgets raises its floor
            evicted = [room.history[i] for i in range(min(overflow, len(room.history)))]
            evicted += payloads[: max(overflow - len(room.history), 0)]
            room.floor = max(room.floor, *(m["id"] for m in evicted))
        room.history.extend(payloads)
        if self.ring_size:
            await self.cluster.push_history(room.slug, payloads, self.ring_size)

    async def recent(self, room: Room, limit: int | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` messages of the ring (default: the join history size)."""
        limit = self.history_size if limit is None else limit
        if limit <= 0:
            return []
        shared = await self.cluster.history(room.slug, limit)
        if shared is not None:
            return shared
        ring = room.history
        return list(ring)[-limit:] if len(ring) > limit else list(ring)

    async def replay(self, room: Room, since: int) -> list[dict[str, Any]] | None:
        """Everything visible after ``since`` from memory, or None when the ring
        does not reach back that far (the caller asks the database)."""
        if not self.cluster.local_history_complete:
            # Other processes append to the shared list, so only it can be complete; while
            # Redis is away this process's ring lacks their messages: ask the database.
            shared = await self.cluster.history(room.slug, self.ring_size)
            if shared and shared[0]["id"] <= since + 1:
                return [m for m in shared if m["id"] > since]
            return None
        if since >= room.floor:
            return [m for m in room.history if m["id"] > since]
        return None

    async def remove_messages(self, slug: str, ids: list[int]) -> None:
        """Removed messages leave this process's ring and the shared history; other processes hear of it."""
        room = self._rooms.get(slug)
        if room is None:
            return
        room.forget(ids)
        shared = await self.cluster.history(slug, self.ring_size)
        if shared is not None:
            drop = set(ids)
            await self.cluster.replace_history(slug, [m for m in shared if m["id"] not in drop])
        await self.cluster.broadcast("removed", {"stream": slug, "ids": ids})

    def set_live(self, slug: str, *, live: bool, title: str | None = None, owner: str | None = None) -> None:
        room = self._rooms.get(slug)
        if room is not None:
            room.live = live
            room.title = title if title is not None else room.title
            room.owner = owner if owner is not None else room.owner


def chat_payload_from_row(row: Any) -> dict[str, Any]:
    return chat_payload(
        id=row.seq,
        stream=row.stream,
        user=row.username,
        message=row.shown_text or row.text,
        toxic=row.toxic,
        score=row.score,
        ts=row.created_at,
    )
