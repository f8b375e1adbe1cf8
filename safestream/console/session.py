"""Console sessions: a JWT in an HttpOnly, SameSite=Strict cookie, plus a CSRF token.

The CSRF token is an HMAC of the session token under the server secret: it is
rendered into the page (htmx sends it as ``X-CSRF-Token`` on every request)
and checked on every console action, so a forged cross-site form post fails
even if a browser ignored SameSite. Nothing is stored server-side.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from aiohttp import web

from safestream.auth.guard import Guard
from safestream.auth.roles import Principal, Role
from safestream.auth.tokens import SESSION_COOKIE, TokenService
from safestream.errors import Forbidden, SafeStreamError, Unauthorized

LOGIN_CSRF_COOKIE = "ss_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
CONSOLE_ROLES = (Role.MODERATOR, Role.ADMIN, Role.STREAMER)


class ConsoleSessions:
    """Starts, reads and CSRF-checks console sessions; handlers reach it through ``CONSOLE_SESSIONS_KEY``."""

    def __init__(self, *, guard: Guard, tokens: TokenService, secret: str, secure: bool) -> None:
        self._guard = guard
        self._tokens = tokens
        self._key = secret.encode()
        #: Secure cookies in production; plain HTTP on a developer's machine still works.
        self._secure = secure

    def csrf_for(self, session_token: str) -> str:
        return hmac.new(self._key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()

    def start(self, response: web.StreamResponse, principal: Principal) -> None:
        tokens = self._tokens
        token = tokens.issue(username=principal.username, role=principal.role.value, version=principal.token_version)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            path="/",
            max_age=tokens.expire_seconds,
            secure=self._secure,
        )
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/console")

    async def principal(self, request: web.Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            principal = await self._guard.from_token(token)
        except SafeStreamError:
            return None
        return principal if principal.role in CONSOLE_ROLES else None

    async def require(self, request: web.Request) -> Principal:
        principal = await self.principal(request)
        if principal is None:
            raise Unauthorized("log in to the console", code="console_login")
        return principal

    def check_csrf(self, request: web.Request, submitted: str | None = None) -> None:
        token = request.cookies.get(SESSION_COOKIE, "")
        sent = submitted or request.headers.get(CSRF_HEADER, "")
        if not token or not sent or not hmac.compare_digest(sent, self.csrf_for(token)):
            raise Forbidden("missing or invalid CSRF token", code="csrf")


def end_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def login_csrf(request: web.Request) -> str:
    """A double-submit token for the login form (there is no session to bind it to yet)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(response: web.StreamResponse, token: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/console")


def check_login_csrf(request: web.Request, submitted: str) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, submitted):
        raise Forbidden("the login form expired; reload the page", code="csrf")
