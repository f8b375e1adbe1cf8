"""Console sign-in and sign-out (form posts): the session cookie starts and ends here."""

from __future__ import annotations

from aiohttp import web

from safestream.app_keys import (
    CONSOLE_SESSIONS_KEY,
    GUARD_KEY,
    REVOCATION_KEY,
    THROTTLES_KEY,
)
from safestream.console.session import (
    CONSOLE_ROLES,
    CSRF_FIELD,
    check_login_csrf,
    end_session,
)
from safestream.console.views import (
    login_response,
)
from safestream.errors import SafeStreamError
from safestream.http.docs import documented
from safestream.http.validation import form_fields


@documented("Console login (form); sets the session cookie", tag="console")
async def login(request: web.Request) -> web.StreamResponse:
    form = await form_fields(request)
    check_login_csrf(request, form.get(CSRF_FIELD, ""))
    username = form.get("username", "")[:50]
    throttles = request.app[THROTTLES_KEY]
    try:
        throttles.check_login(request, username)
    except SafeStreamError as exc:
        return login_response(request, error=exc.message, status=exc.status)
    principal = await request.app[GUARD_KEY].verify_login(username, form.get("password", "")[:128])
    if principal is None:
        throttles.login_failed(request, username)
    if principal is None or principal.role not in CONSOLE_ROLES:
        return login_response(request, error="Wrong username or password, or not a moderator.", status=401)
    response = web.HTTPFound("/console")
    request.app[CONSOLE_SESSIONS_KEY].start(response, principal)
    raise response


@documented("Console logout", tag="console")
async def logout(request: web.Request) -> web.StreamResponse:
    principal = await request.app[CONSOLE_SESSIONS_KEY].require(request)
    request.app[CONSOLE_SESSIONS_KEY].check_csrf(request, (await form_fields(request)).get(CSRF_FIELD))
    # The cookie's token (and every other session of the account) stops working now.
    await request.app[REVOCATION_KEY].end_sessions(username=principal.username, reason="signed out")
    response = web.HTTPFound("/console/login")
    end_session(response)
    raise response
