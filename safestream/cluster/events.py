"""Applying other processes' events to this one (see ``RedisCluster.broadcast``).

The process where an action happens applies it itself and broadcasts it;
every other process applies it here to its local state: its sockets, its
sanction cache, its rooms, its cached policies.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from safestream.chat.membership import Membership
from safestream.chat.metrics import Metrics
from safestream.chat.rooms import Rooms
from safestream.chat.sanctions import Sanctions
from safestream.chat.stream_lifecycle import StreamLifecycle
from safestream.chat.stream_policies import PolicyBook
from safestream.gifts.service import GiftService
from safestream.storage.models import Message
from safestream.storage.writer import WriteBehind

log = logging.getLogger(__name__)


class ClusterEvents:
    def __init__(
        self,
        *,
        membership: Membership,
        sanctions: Sanctions,
        rooms: Rooms,
        gifts: GiftService,
        lifecycle: StreamLifecycle,
        policies: PolicyBook,
        metrics: Metrics,
        writer: WriteBehind,
        sessions_ended: Callable[[str, dict[str, Any]], Awaitable[Any]],
        mark_verified: Callable[[str], None],
    ) -> None:
        self._membership = membership
        self._sanctions = sanctions
        self._rooms = rooms
        self._gifts = gifts
        self._lifecycle = lifecycle
        self._policies = policies
        self._metrics = metrics
        self._writer = writer
        self._sessions_ended = sessions_ended
        self._mark_verified = mark_verified

    async def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "kick":
            await self._membership.kick(data["username"], data["payload"])
        elif kind == "sessions_ended":  # logout, password/role change, deletion (auth.revocation)
            await self._sessions_ended(data["username"], data["payload"])
        elif kind == "sanction":
            until = datetime.fromisoformat(data["until"]) if data.get("until") else None
            if data["op"] == "add":
                self._sanctions.add(data["kind"], data["username"], data.get("stream"), until)
            else:
                self._sanctions.lift(data["kind"], data["username"], data.get("stream"))
        elif kind == "stream":
            slug = data["stream"]
            if data["live"]:
                self._rooms.set_live(slug, live=True, title=data.get("title"), owner=data.get("owner"))
                await self._rooms.load(slug)
                self._gifts.start_producer(slug)
            else:
                await self._lifecycle.ended(slug)
        elif kind == "policy":
            await self._policies.reload(data["stream"])
        elif kind == "email_verified":
            self._mark_verified(data["username"])
        elif kind == "metrics_reset":
            self._metrics.reset()
        elif kind == "removed":
            room = self._rooms.get(data["stream"])
            if room is not None:
                room.forget(data["ids"])
            # The rows may still be in this process's write-behind buffer, where the acting
            # process's update could not reach them.
            await self._writer.update(
                Message, stream=data["stream"], seqs=list(data["ids"]), values={"review": "removed"}
            )
        else:
            log.warning("unknown cluster event %r", kind)
