"""Opening, renaming and ending streams: store, update the live room, notify, start or stop gifts."""

from __future__ import annotations

from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.membership import Membership
from safestream.chat.rooms import Rooms
from safestream.chat.stream_policies import PolicyBook
from safestream.cluster import Cluster
from safestream.errors import Conflict, NoSuchStream
from safestream.gifts.service import GiftService
from safestream.storage import stream_rows as stream_store
from safestream.storage.db import SessionMaker
from safestream.storage.models import Stream


def stream_info(stream: Stream) -> dict[str, Any]:
    return {"stream": stream.slug, "live": stream.live, "title": stream.title, "owner": stream.owner}


class StreamLifecycle:
    def __init__(
        self,
        *,
        sessions: SessionMaker,
        rooms: Rooms,
        policies: PolicyBook,
        gifts: GiftService,
        cluster: Cluster,
        broadcaster: Broadcaster,
        membership: Membership,
        max_live_per_owner: int,
    ) -> None:
        self._sessions = sessions
        self._rooms = rooms
        self._policies = policies
        self._gifts = gifts
        self._cluster = cluster
        self._broadcaster = broadcaster
        self._membership = membership
        self._max_live_per_owner = max_live_per_owner

    async def go_live(self, *, slug: str, title: str, owner: str) -> Stream:
        cap = self._max_live_per_owner
        # Each live stream costs a room, a gift producer and a console; re-opening a live one is free.
        others = [s for s in await stream_store.live_streams(self._sessions, owner=owner) if s.slug != slug]
        if len(others) >= cap:
            raise Conflict(
                f"you already have {len(others)} live streams (the limit is {cap}); end one first",
                code="too_many_streams",
            )
        stream = await stream_store.open_stream(self._sessions, slug=slug, title=title, owner=owner)
        self._rooms.set_live(slug, live=True, title=stream.title, owner=stream.owner)
        await self._rooms.load(slug)
        await self._policies.load(slug)
        self._gifts.start_producer(slug)
        await self._cluster.broadcast(
            "stream", {"stream": slug, "live": True, "title": stream.title, "owner": stream.owner}
        )
        await self._broadcaster.stream_status(slug, True)
        await self._broadcaster.stream_update(stream_info(stream))
        return stream

    async def end(self, *, slug: str) -> Stream:
        stream = await stream_store.end_stream(self._sessions, slug=slug)
        if stream is None:
            raise NoSuchStream(slug)
        await self._cluster.broadcast("stream", {"stream": slug, "live": False})
        await self.ended(slug)
        await self._broadcaster.stream_update(stream_info(stream))
        return stream

    async def ended(self, slug: str) -> None:
        """This process's side of a stream ending (also run for other processes' ends):
        chat is refused from now on, viewers hear ``stream_status`` and leave the room."""
        self._rooms.set_live(slug, live=False)
        await self._gifts.stop_producer(slug)
        # Each process tells its own sockets and then empties the room, in that order
        # (a cluster-wide emit could arrive after another process emptied its room).
        await self._broadcaster.stream_status(slug, False, local=True)
        await self._membership.empty(slug)

    async def retitle(self, *, slug: str, title: str) -> Stream:
        stream = await stream_store.set_title(self._sessions, slug=slug, title=title)
        if stream is None:
            raise NoSuchStream(slug)
        self._rooms.set_live(slug, live=stream.live, title=stream.title)
        await self._cluster.broadcast(
            "stream", {"stream": slug, "live": stream.live, "title": stream.title, "owner": stream.owner}
        )
        await self._broadcaster.stream_update(stream_info(stream))
        return stream
