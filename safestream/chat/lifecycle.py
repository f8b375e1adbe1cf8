"""Opening, renaming and ending streams: store, update the live room, notify, start or stop gifts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from safestream.app_keys import (
    BROADCASTER_KEY,
    CLUSTER_KEY,
    GIFTS_KEY,
    MEMBERSHIP_KEY,
    POLICIES_KEY,
    ROOMS_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
)
from safestream.errors import Conflict, NotFound
from safestream.storage import streams as stream_store
from safestream.storage.models import Stream


async def go_live(app: web.Application, *, slug: str, title: str, owner: str) -> Stream:
    cap = app[SETTINGS_KEY].max_live_streams_per_owner
    # Each live stream costs a room, a gift producer and a console; re-opening a live one is free.
    others = [s for s in await stream_store.live_streams(app[SESSIONS_KEY], owner=owner) if s.slug != slug]
    if len(others) >= cap:
        raise Conflict(f"you already have {len(others)} live streams (the limit is {cap}); end one first",
                       code="too_many_streams")
    stream = await stream_store.open_stream(app[SESSIONS_KEY], slug=slug, title=title, owner=owner)
    rooms = app[ROOMS_KEY]
    rooms.set_live(slug, live=True, title=stream.title, owner=stream.owner)
    await rooms.load(slug)
    await app[POLICIES_KEY].load(slug)
    app[GIFTS_KEY].start_producer(slug)
    await app[CLUSTER_KEY].broadcast("stream", {"stream": slug, "live": True, "title": stream.title,
                                                "owner": stream.owner})
    await app[BROADCASTER_KEY].stream_status(slug, True)
    await app[BROADCASTER_KEY].stream_update(stream_info(stream))
    return stream


async def end(app: web.Application, *, slug: str) -> Stream:
    stream = await stream_store.end_stream(app[SESSIONS_KEY], slug=slug)
    if stream is None:
        raise NotFound(f"no stream named {slug!r}", code="no_such_stream")
    await app[CLUSTER_KEY].broadcast("stream", {"stream": slug, "live": False})
    await ended(app, slug)
    await app[BROADCASTER_KEY].stream_update(stream_info(stream))
    return stream


async def ended(app: web.Application, slug: str) -> None:
    """This process's side of a stream ending (also run for other processes' ends):
    chat is refused from now on, viewers hear ``stream_status`` and leave the room."""
    app[ROOMS_KEY].set_live(slug, live=False)
    await app[GIFTS_KEY].stop_producer(slug)
    # Each process tells its own sockets and then empties the room, in that order
    # (a cluster-wide emit could arrive after another process emptied its room).
    await app[BROADCASTER_KEY].stream_status(slug, False, local=True)
    await app[MEMBERSHIP_KEY].empty(slug)


async def retitle(app: web.Application, *, slug: str, title: str) -> Stream:
    stream = await stream_store.set_title(app[SESSIONS_KEY], slug=slug, title=title)
    if stream is None:
        raise NotFound(f"no stream named {slug!r}", code="no_such_stream")
    app[ROOMS_KEY].set_live(slug, live=stream.live, title=stream.title)
    await app[CLUSTER_KEY].broadcast("stream", {"stream": slug, "live": stream.live, "title": stream.title,
                                                "owner": stream.owner})
    await app[BROADCASTER_KEY].stream_update(stream_info(stream))
    return stream


def stream_info(stream: Stream) -> dict[str, Any]:
    return {"stream": stream.slug, "live": stream.live, "title": stream.title, "owner": stream.owner}
