"""Opening and ending streams: store, update the live room, notify, start or stop gifts."""

from __future__ import annotations

from aiohttp import web

from safestream.app_keys import (
    BROADCASTER_KEY,
    CLUSTER_KEY,
    GIFTS_KEY,
    POLICIES_KEY,
    ROOMS_KEY,
    SESSIONS_KEY,
)
from safestream.errors import NotFound
from safestream.storage import streams as stream_store
from safestream.storage.models import Stream


async def go_live(app: web.Application, *, slug: str, title: str, owner: str) -> Stream:
    stream = await stream_store.open_stream(app[SESSIONS_KEY], slug=slug, title=title, owner=owner)
    rooms = app[ROOMS_KEY]
    rooms.set_live(slug, live=True, title=stream.title, owner=stream.owner)
    await rooms.load(slug)
    await app[POLICIES_KEY].load(slug)
    app[GIFTS_KEY].start_producer(slug)
    await app[CLUSTER_KEY].broadcast("stream", {"stream": slug, "live": True, "title": stream.title,
                                                "owner": stream.owner})
    await app[BROADCASTER_KEY].stream_status(slug, True)
    return stream


async def end(app: web.Application, *, slug: str) -> Stream:
    stream = await stream_store.end_stream(app[SESSIONS_KEY], slug=slug)
    if stream is None:
        raise NotFound(f"no stream named {slug!r}", code="no_such_stream")
    app[ROOMS_KEY].set_live(slug, live=False)
    await app[GIFTS_KEY].stop_producer(slug)
    await app[CLUSTER_KEY].broadcast("stream", {"stream": slug, "live": False})
    await app[BROADCASTER_KEY].stream_status(slug, False)
    return stream
