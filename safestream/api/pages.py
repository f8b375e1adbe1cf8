"""The viewer chat client's HTML shell: /chat and /chat/{stream}.

The page is static apart from the preselected stream; everything live comes
over the REST API and Socket.IO from ``static/js/chat.js``. The stream name is
validated before it is rendered (and then only into a data attribute), so a
crafted URL cannot put markup into the page.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from safestream.chat.rooms import check_stream_name
from safestream.http.docs import documented
from safestream.resources import shipped
from safestream.templating import JINJA_KEY, STATIC_DIR, render

PROTOCOL_FILE = shipped("docs") / "PROTOCOL.md"


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


def _chat_page(request: web.Request, stream: str | None) -> web.Response:
    response = render(request.app[JINJA_KEY], "chat.html", {"stream": stream})
    # The shell holds no user data, but a cached copy would outlive a deploy of chat.js.
    response.headers["Cache-Control"] = "no-cache"
    return response


@documented("The viewer chat client: log in, pick a live stream, chat", tag="pages", responses={200: "an HTML page"})
async def chat_home(request: web.Request) -> web.Response:
    return _chat_page(request, None)


@documented(
    "The viewer chat client, opening one stream",
    tag="pages",
    responses={200: "an HTML page", 422: "not a valid stream name"},
)
async def chat_stream(request: web.Request) -> web.Response:
    return _chat_page(request, check_stream_name(request.match_info["stream"]))


@documented("The site icon (SVG)", tag="pages", responses={200: "image/svg+xml"})
async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for /favicon.ico on every page; the answer is the brand's SVG, not a 404."""
    response = web.FileResponse(STATIC_DIR / "favicon.svg")
    response.content_type = "image/svg+xml"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@documented(
    "The Socket.IO and HTTP protocol document (docs/PROTOCOL.md)",
    tag="pages",
    responses={200: "the document as plain text (Markdown)"},
)
async def protocol(request: web.Request) -> web.Response:
    text = await asyncio.to_thread(PROTOCOL_FILE.read_text, "utf-8")
    return web.Response(text=text, content_type="text/markdown", charset="utf-8")
