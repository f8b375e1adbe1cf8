"""Listing, opening and ending streams."""

from __future__ import annotations

import unicodedata

from aiohttp import web
from pydantic import BaseModel, Field

from safestream.app_keys import GUARD_KEY, LIFECYCLE_KEY, METRICS_KEY, ROOMS_KEY, SESSIONS_KEY
from safestream.auth.roles import Principal
from safestream.chat.rooms import STREAM_RE, check_stream_name
from safestream.chat.stream_lifecycle import stream_info
from safestream.errors import Forbidden, InvalidPayload, NoSuchStream
from safestream.http.docs import documented
from safestream.http.validation import read_json
from safestream.storage import stream_rows as stream_store
from safestream.storage.models import Stream


class StreamIn(BaseModel):
    stream: str = Field(pattern=STREAM_RE.pattern)
    title: str = Field(default="", max_length=200)


class TitleIn(BaseModel):
    title: str = Field(max_length=200)


#: ``GET /streams`` pages: the default is large enough that old clients see every stream
#: of a normal site in one answer, and small enough that the answer stays bounded.
DEFAULT_PAGE = 100
MAX_PAGE = 500


def _page(request: web.Request) -> tuple[int, str | None]:
    raw_limit, cursor = request.query.get("limit"), request.query.get("cursor")
    try:
        limit = DEFAULT_PAGE if raw_limit is None else int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidPayload(f"limit must be an integer from 1 to {MAX_PAGE}")
    return limit, check_stream_name(cursor) if cursor is not None else None


@documented(
    "Live streams, by name; `?limit=` (1-500, default 100) and `?cursor=` page through them",
    tag="streams",
    responses={
        200: "[{stream, title, owner, viewers, live, gift_count, gift_amount, last_gift_id}]; X-Next-Cursor when more",
        422: "bad limit or cursor",
    },
)
async def list_streams(request: web.Request) -> web.Response:
    limit, cursor = _page(request)
    rooms, metrics = request.app[ROOMS_KEY], request.app[METRICS_KEY]
    rows = await stream_store.live_streams(request.app[SESSIONS_KEY], after=cursor, limit=limit + 1)
    result: list[dict[str, object]] = []
    for stream in rows[:limit]:
        room = rooms.get(stream.slug)
        # Gift events (and their summed amounts) in the metrics window, and the id they run to:
        # a client adds the `gift` events above that id and agrees with the console.
        result.append(
            {
                "stream": stream.slug,
                "title": stream.title,
                "owner": stream.owner,
                "viewers": room.viewer_count if room else 0,
                "live": stream.live,
                "gift_count": metrics.gifts[stream.slug],
                "gift_amount": metrics.gift_amounts[stream.slug],
                "last_gift_id": room.gift_seq if room else 0,
            }
        )
    response = web.json_response(result)
    if len(rows) > limit:  # the body stays a plain list, as old clients expect; the next page is a header
        nxt = rows[limit - 1].slug
        response.headers["X-Next-Cursor"] = nxt
        response.headers["Link"] = f'</streams?limit={limit}&cursor={nxt}>; rel="next"'
    return response


@documented(
    "Open (go live with) a stream owned by the caller",
    auth="streamer or admin",
    body=StreamIn,
    tag="streams",
    responses={201: "live", 403: "not a streamer", 409: "owned by someone else, or too many live streams"},
)
async def open_stream(request: web.Request) -> web.Response:
    principal = await request.app[GUARD_KEY].authenticate(request)
    if not principal.can_open_streams():
        raise Forbidden("only streamers and admins open streams")
    body = await read_json(request, StreamIn)
    stream = await request.app[LIFECYCLE_KEY].go_live(
        slug=body.stream, title=clean_title(body.title), owner=principal.username
    )
    return web.json_response(
        {"stream": stream.slug, "title": stream.title, "owner": stream.owner, "live": True}, status=201
    )


@documented(
    "End a stream; its viewers get stream_status live=false",
    auth="owner, moderator or admin",
    tag="streams",
    responses={200: "ended", 403: "not allowed", 404: "no such stream"},
)
async def end_stream(request: web.Request) -> web.Response:
    principal, stream = await _addressed_stream(request)
    slug = stream.slug
    if not principal.can_moderate(slug, stream.owner):
        raise Forbidden("only the owner, its moderators and admins end a stream")
    await request.app[LIFECYCLE_KEY].end(slug=slug)
    return web.json_response({"stream": slug, "live": False})


@documented(
    "Rename a stream; every client gets stream_update",
    auth="owner or admin",
    body=TitleIn,
    tag="streams",
    responses={200: "renamed", 403: "not the owner", 404: "no such stream"},
)
async def retitle_stream(request: web.Request) -> web.Response:
    principal, stream = await _addressed_stream(request)
    slug = stream.slug
    if not (principal.is_admin or principal.username == stream.owner):
        raise Forbidden("only the stream's owner and admins rename it")
    body = await read_json(request, TitleIn)
    stream = await request.app[LIFECYCLE_KEY].retitle(slug=slug, title=clean_title(body.title))
    return web.json_response(stream_info(stream))


async def _addressed_stream(request: web.Request) -> tuple[Principal, Stream]:
    """The caller (401 first) and the stream the path names (404 if there is none)."""
    principal = await request.app[GUARD_KEY].authenticate(request)
    slug = check_stream_name(request.match_info["stream"])
    stream = await stream_store.get_stream(request.app[SESSIONS_KEY], slug=slug)
    if stream is None:
        raise NoSuchStream(slug)
    return principal, stream


def clean_title(raw: str) -> str:
    """Titles are one line of plain text: controls (newlines, bidi overrides) would spoof the page."""
    kept = "".join(" " if ch.isspace() else ch for ch in raw if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:200]
