"""Console: one user's panel for a stream (their recent messages, strikes, mutes, bans, the audit of
actions on them) with every user action in one place."""

from __future__ import annotations

from aiohttp import web

from safestream.app_keys import (
    CONSOLE_SESSIONS_KEY,
    PIPELINE_KEY,
    POLICIES_KEY,
    SANCTIONS_KEY,
    SESSIONS_KEY,
    WRITER_KEY,
)
from safestream.chat.moderator_actions import audit_entry
from safestream.chat.payloads import iso
from safestream.chat.sanctions import FOREVER
from safestream.console.live import feed_row
from safestream.console.views import base_context, stream_for
from safestream.http.docs import documented
from safestream.storage import audit, users
from safestream.storage import messages as message_store
from safestream.storage.messages import Filters
from safestream.templating import JINJA_KEY, render

#: Timeout presets (seconds, label): what moderators pick most.
PRESETS = ((60, "1 min"), (300, "5 min"), (600, "10 min"), (3600, "1 h"), (86400, "1 day"))


def _until(value: object) -> str | None:
    if value is None:
        return None
    return "permanent" if value == FOREVER else iso(value)  # type: ignore[arg-type]


@documented("Console fragment: a user's recent messages, sanctions and audit in this stream", tag="console")
async def user_panel(request: web.Request) -> web.Response:
    principal = await request.app[CONSOLE_SESSIONS_KEY].require(request)
    stream = await stream_for(request, principal)
    username = request.match_info["username"][:50]
    app = request.app
    account = await users.get_user(app[SESSIONS_KEY], username=username)
    await app[WRITER_KEY].flush_all()
    rows, total = await message_store.search(
        app[SESSIONS_KEY], stream=stream, per_page=15, filters=Filters(user=username)
    )
    sanctions = app[SANCTIONS_KEY]
    rule = app[POLICIES_KEY].get(stream).strikes
    strikes, strike_outs = app[PIPELINE_KEY].strikes.standing(stream, username, rule.window_secs if rule else 600.0)
    context = {
        **base_context(request, principal),
        "stream": stream,
        "username": username,
        "account": account,
        "messages": [feed_row(r) for r in rows],
        "message_total": total,
        "muted": _until(sanctions.muted(username, stream)),
        "banned": _until(sanctions.banned(username, stream)),
        "strikes": strikes,
        "strike_outs": strike_outs,
        "strike_rule": rule,
        "presets": PRESETS,
        "audit_rows": [
            audit_entry(r) for r in await audit.actions_on(app[SESSIONS_KEY], target=username, stream=stream)
        ],
    }
    return render(request.app[JINJA_KEY], "console/_user_panel.html", context)
