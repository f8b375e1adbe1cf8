"""Applying other processes' events to this one (see ``cluster.RedisCluster``).

The process where an action happens applies it itself and broadcasts it;
every other process applies it here to its local state: its sockets, its
sanction cache, its rooms, its cached policies.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from safestream.app_keys import (
    GIFTS_KEY,
    MEMBERSHIP_KEY,
    METRICS_KEY,
    POLICIES_KEY,
    ROOMS_KEY,
    SANCTIONS_KEY,
    WRITER_KEY,
)
from safestream.auth import verification
from safestream.auth.revocation import sessions_ended
from safestream.chat import lifecycle
from safestream.storage.models import Message

log = logging.getLogger(__name__)


async def on_cluster_event(app: web.Application, kind: str, data: dict[str, Any]) -> None:
    if kind == "kick":
        await app[MEMBERSHIP_KEY].kick(data["username"], data["payload"])
    elif kind == "sessions_ended":  # logout, password/role change, deletion (auth.revocation)
        await sessions_ended(app, data["username"], data["payload"])
    elif kind == "sanction":
        until = datetime.fromisoformat(data["until"]) if data.get("until") else None
        if data["op"] == "add":
            app[SANCTIONS_KEY].add(data["kind"], data["username"], data.get("stream"), until)
        else:
            app[SANCTIONS_KEY].lift(data["kind"], data["username"], data.get("stream"))
    elif kind == "stream":
        rooms, slug = app[ROOMS_KEY], data["stream"]
        if data["live"]:
            rooms.set_live(slug, live=True, title=data.get("title"), owner=data.get("owner"))
            await rooms.load(slug)
            app[GIFTS_KEY].start_producer(slug)
        else:
            await lifecycle.ended(app, slug)
    elif kind == "policy":
        await app[POLICIES_KEY].reload(data["stream"])
    elif kind == "email_verified":
        verification.mark_verified(app, data["username"])
    elif kind == "metrics_reset":
        app[METRICS_KEY].reset()
    elif kind == "removed":
        room = app[ROOMS_KEY].get(data["stream"])
        if room is not None:
            drop = set(data["ids"])
            kept = [m for m in room.history if m["id"] not in drop]
            room.history.clear()
            room.history.extend(kept)
        # The rows may still be in this process's write-behind buffer, where the acting
        # process's update could not reach them.
        await app[WRITER_KEY].update(Message, stream=data["stream"], seqs=list(data["ids"]),
                                     values={"review": "removed"})
    else:
        log.warning("unknown cluster event %r", kind)
