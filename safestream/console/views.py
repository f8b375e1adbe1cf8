"""Console pages and fragments (GET), and what every console action shares (``stream_post``, ``toast``).

Actions that change things are in ``console.forms``, ``policy_editor`` and ``stream_controls``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from safestream.app_keys import (
    CONSOLE_SESSIONS_KEY,
    METRICS_KEY,
    POLICIES_KEY,
    REVIEW_KEY,
    ROOMS_KEY,
    SESSIONS_KEY,
    WRITER_KEY,
)
from safestream.auth.roles import Principal
from safestream.auth.tokens import SESSION_COOKIE
from safestream.chat.moderator_actions import audit_entry
from safestream.chat.rooms import check_stream_name
from safestream.console import history
from safestream.console.live import feed_row, panel_context
from safestream.console.session import (
    CSRF_FIELD,
    login_csrf,
    set_login_csrf,
)
from safestream.errors import Forbidden, InvalidPayload
from safestream.http.docs import documented
from safestream.http.validation import form_fields
from safestream.moderation.contract import LABELS
from safestream.moderation.modes.config import RULE_ACTIONS
from safestream.moderation.policy import ACTIONS
from safestream.storage import audit
from safestream.storage import messages as message_store
from safestream.storage import stream_rows as stream_store
from safestream.templating import JINJA_KEY, render

PER_PAGE = 50


async def moderated_streams(request: web.Request, principal: Principal) -> list[dict[str, Any]]:
    """Streams this user may run the console for: all for global roles, else owned or granted."""
    result = []
    for stream in await stream_store.live_streams(request.app[SESSIONS_KEY]):
        if principal.can_moderate(stream.slug, stream.owner):
            result.append({"stream": stream.slug, "title": stream.title, "owner": stream.owner})
    return result


async def stream_for(request: web.Request, principal: Principal) -> str:
    stream = check_stream_name(request.match_info["stream"])
    row = await stream_store.get_stream(request.app[SESSIONS_KEY], slug=stream)
    if row is None or not principal.can_moderate(stream, row.owner):
        raise Forbidden("you do not moderate this stream")
    return stream


async def _signed_in(request: web.Request, *, page: bool) -> Principal:
    """The console's user; without one, a page sends the browser to the login form, anything else is a 401."""
    principal = await request.app[CONSOLE_SESSIONS_KEY].principal(request)
    if principal is None:
        raise web.HTTPFound("/console/login") if page else web.HTTPUnauthorized()
    return principal


async def console_post(request: web.Request) -> tuple[Principal, dict[str, str]]:
    """A console form post: the session's user and the fields, once the CSRF token checks out."""
    sessions = request.app[CONSOLE_SESSIONS_KEY]
    principal = await sessions.require(request)
    form = await form_fields(request)
    sessions.check_csrf(request, form.get(CSRF_FIELD))
    return principal, form


async def stream_post(request: web.Request) -> tuple[Principal, str, dict[str, str]]:
    """A console form post for the stream in the path (403 unless the user moderates it)."""
    principal, form = await console_post(request)
    return principal, await stream_for(request, principal), form


def toast(request: web.Request, message: str, *, ok: bool = True, status: int = 200) -> web.Response:
    """The one-line answer an action shows the moderator."""
    return render(request.app[JINJA_KEY], "console/_toast.html", {"message": message, "ok": ok}, status=status)


async def stream_context(request: web.Request, principal: Principal, stream: str) -> dict[str, Any]:
    """What the dashboard's stream card needs: the stream's state and what this user may do to it."""
    row = await stream_store.get_stream(request.app[SESSIONS_KEY], slug=stream)
    owner = row.owner if row else ""
    return {
        "stream_info": {
            "stream": stream,
            "title": row.title if row else "",
            "owner": owner,
            "live": bool(row and row.live),
        },
        "can_retitle": principal.is_admin or principal.username == owner,
        "can_go_live": principal.username == owner or (principal.is_admin and not owner),
    }


async def own_streams(request: web.Request, principal: Principal) -> list[dict[str, Any]]:
    """A streamer's ended streams, so the home page can take one live again."""
    if not principal.can_open_streams():
        return []
    rows = await stream_store.streams_of(request.app[SESSIONS_KEY], owner=principal.username)
    return [{"stream": r.slug, "title": r.title} for r in rows if not r.live]


def base_context(request: web.Request, principal: Principal) -> dict[str, Any]:
    return {
        "me": principal,
        "csrf": request.app[CONSOLE_SESSIONS_KEY].csrf_for(request.cookies.get(SESSION_COOKIE, "")),
    }


@documented("Console login page", tag="console")
async def login_page(request: web.Request) -> web.StreamResponse:
    if await request.app[CONSOLE_SESSIONS_KEY].principal(request) is not None:
        raise web.HTTPFound("/console")
    return login_response(request, error=None)


def login_response(request: web.Request, *, error: str | None, status: int = 200) -> web.Response:
    token = login_csrf(request)
    page = render(request.app[JINJA_KEY], "console/login.html", {"error": error, "csrf": token}, status=status)
    set_login_csrf(page, token)
    return page


@documented("Console home: the streams you moderate", tag="console")
async def home(request: web.Request) -> web.Response:
    principal = await _signed_in(request, page=True)
    streams = await moderated_streams(request, principal)
    if len(streams) == 1 and "pick" not in request.query:
        raise web.HTTPFound(f"/console/s/{streams[0]['stream']}")
    return render(
        request.app[JINJA_KEY],
        "console/home.html",
        {**base_context(request, principal), "streams": streams, "ended": await own_streams(request, principal)},
    )


@documented("The console for one stream", tag="console")
async def dashboard(request: web.Request) -> web.Response:
    principal = await _signed_in(request, page=True)
    stream = await stream_for(request, principal)
    policies = request.app[POLICIES_KEY]
    policy = await policies.load(stream)
    context = {
        **base_context(request, principal),
        **await panel_context(request.app[METRICS_KEY], request.app[ROOMS_KEY], stream),
        **await stream_context(request, principal, stream),
        "streams": await moderated_streams(request, principal),
        "review_rows": await request.app[REVIEW_KEY].pending(stream=stream),
        "audit_rows": [
            audit_entry(r)
            for r in await audit.recent_actions(
                request.app[SESSIONS_KEY], limit=30, stream=stream, site_wide=principal.is_global_moderator
            )
        ],  # streamers never see site-wide reasons
        **await feed_context(request, stream),
        **policy_context(policy.to_dict(), custom=policies.is_custom(stream)),
    }
    return render(request.app[JINJA_KEY], "console/dashboard.html", context)


async def feed_context(request: web.Request, stream: str) -> dict[str, Any]:
    q = request.query
    try:
        page = max(1, min(int(q.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    policy = request.app[POLICIES_KEY].get(stream)
    filters, shown = history.parse_filters(q, category_min=policy.flag_threshold)
    await request.app[WRITER_KEY].flush_all()
    rows, total = await message_store.search(
        request.app[SESSIONS_KEY], stream=stream, page=page, per_page=PER_PAGE, filters=filters
    )
    return {
        "feed": [feed_row(r) for r in rows],
        "filters": shown,
        "filtered": history.is_filtered(shown),
        "filters_qs": history.query_string(shown),
        "page": page,
        "pages": max(1, -(-total // PER_PAGE)),
        "total": total,
        "labels": LABELS,
    }


@documented(
    "Console: the filtered history as CSV or JSONL (oldest first)",
    tag="console",
    query={
        "format": "csv or jsonl",
        "q": "text",
        "user": "username",
        "action": "action",
        "category": "category",
        "from": "UTC time",
        "to": "UTC time",
    },
)
async def export(request: web.Request) -> web.StreamResponse:
    principal = await _signed_in(request, page=False)
    stream = await stream_for(request, principal)
    fmt = request.query.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        raise InvalidPayload("format is csv or jsonl")
    filters, _ = history.parse_filters(request.query, category_min=request.app[POLICIES_KEY].get(stream).flag_threshold)
    await request.app[WRITER_KEY].flush_all()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson",
            "Content-Disposition": f'attachment; filename="{stream}-messages.{fmt}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    first = True
    async for rows in message_store.export_rows(
        request.app[SESSIONS_KEY], stream=stream, filters=filters, limit=history.EXPORT_LIMIT
    ):
        await response.write(history.csv_chunk(rows, header=first) if fmt == "csv" else history.jsonl_chunk(rows))
        first = False
    if first and fmt == "csv":
        await response.write(history.csv_chunk([], header=True))
    await response.write_eof()
    return response


def policy_context(
    policy: dict[str, Any],
    *,
    custom: bool,
    errors: list[str] | None = None,
    saved: bool = False,
    restored: bool = False,
    permissive: str | None = None,
    samples: str = "",
) -> dict[str, Any]:
    by_category = {lv["category"]: lv for lv in policy["levels"]}
    return {
        "policy": policy,
        "policy_custom": custom,
        "policy_errors": errors or [],
        "policy_saved": saved,
        "policy_restored": restored,
        "policy_permissive": permissive,
        "policy_samples": samples,
        "categories": ["*", *LABELS],
        "levels_by_category": by_category,
        "actions": ACTIONS,
        "rule_actions": RULE_ACTIONS,
        "shield_on": bool(policy.get("shield")),
    }


@documented("Console fragment: the filtered, paginated message feed", tag="console")
async def feed(request: web.Request) -> web.Response:
    principal = await _signed_in(request, page=False)
    stream = await stream_for(request, principal)
    return render(
        request.app[JINJA_KEY],
        "console/_feed.html",
        {**base_context(request, principal), "stream": stream, **await feed_context(request, stream)},
    )
