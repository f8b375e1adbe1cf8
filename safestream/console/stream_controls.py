"""Console: a streamer goes live, renames and ends streams; the stream lists, live.

The actions call ``StreamLifecycle``, the same service as ``POST /api/streams``,
``PATCH /api/streams/{s}`` and ``POST /api/streams/{s}/end``, so every client
hears about the change (``stream_update``, ``stream_status``) the same way.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from safestream.api.streams import StreamIn, clean_title
from safestream.app_keys import ACTIONS_KEY, CONSOLE_SESSIONS_KEY, LIFECYCLE_KEY
from safestream.console.views import (
    base_context,
    console_post,
    moderated_streams,
    own_streams,
    stream_context,
    stream_for,
    stream_post,
    toast,
)
from safestream.errors import SafeStreamError
from safestream.http.docs import documented
from safestream.templating import JINJA_KEY, render


@documented("Console: go live with a stream (streamers and admins)", tag="console")
async def go_live(request: web.Request) -> web.Response:
    principal, form = await console_post(request)
    if not principal.can_open_streams():
        return toast(request, "Only streamers and admins open streams.", ok=False, status=403)
    try:
        body = StreamIn.model_validate({"stream": form.get("stream", "").strip(), "title": form.get("title", "")})
    except ValidationError:
        return toast(
            request,
            "Stream names use 1-40 lowercase letters, digits, '-' or '_', starting with a "
            "letter or digit; titles have up to 200 characters.",
            ok=False,
            status=422,
        )
    try:
        stream = await request.app[LIFECYCLE_KEY].go_live(
            slug=body.stream, title=clean_title(body.title), owner=principal.username
        )
    except SafeStreamError as exc:
        return toast(request, exc.message, ok=False, status=exc.status)
    await request.app[ACTIONS_KEY].record(
        actor=principal.username, action="go_live", stream=stream.slug, details={"title": stream.title}
    )
    response = toast(request, f"{stream.slug} is live.")
    response.headers["HX-Redirect"] = f"/console/s/{stream.slug}"
    return response


@documented("Console: end the stream (owner, its moderators, admins)", tag="console")
async def end_stream(request: web.Request) -> web.Response:
    principal, stream, _ = await stream_post(request)
    await request.app[LIFECYCLE_KEY].end(slug=stream)
    await request.app[ACTIONS_KEY].record(actor=principal.username, action="end_stream", stream=stream)
    return toast(request, f"{stream} has ended. Viewers were told.")


@documented("Console: rename the stream (owner, admins)", tag="console")
async def retitle(request: web.Request) -> web.Response:
    principal, stream, form = await stream_post(request)
    if not (await stream_context(request, principal, stream))["can_retitle"]:
        return toast(request, "Only the stream's owner and admins rename it.", ok=False, status=403)
    title = clean_title(form.get("title", ""))
    if len(form.get("title", "")) > 200:
        return toast(request, "Titles have up to 200 characters.", ok=False, status=422)
    await request.app[LIFECYCLE_KEY].retitle(slug=stream, title=title)
    await request.app[ACTIONS_KEY].record(
        actor=principal.username, action="retitle", stream=stream, details={"title": title}
    )
    return toast(request, f"Title is now “{title or stream}”.")


@documented("Console fragment: the streams you moderate (the top bar's list or the home page's)", tag="console")
async def stream_list(request: web.Request) -> web.Response:
    principal = await request.app[CONSOLE_SESSIONS_KEY].require(request)
    streams = await moderated_streams(request, principal)
    current = request.query.get("current", "")
    template = "console/_stream_nav.html" if request.query.get("as") == "nav" else "console/_stream_list.html"
    return render(
        request.app[JINJA_KEY],
        template,
        {
            **base_context(request, principal),
            "streams": streams,
            "stream": current,
            "ended": await own_streams(request, principal),
        },
    )


@documented("Console fragment: the stream card (state, title, end / go live)", tag="console")
async def stream_card(request: web.Request) -> web.Response:
    principal = await request.app[CONSOLE_SESSIONS_KEY].require(request)
    stream = await stream_for(request, principal)
    return render(
        request.app[JINJA_KEY],
        "console/_stream_card.html",
        {**base_context(request, principal), "stream": stream, **await stream_context(request, principal, stream)},
    )
