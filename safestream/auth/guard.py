"""Turning a bearer token (or the console's cookie) into a ``Principal``.

The token says who the user is; the database says whether they still exist
and what their role is now, so deleting a user or changing a role takes effect
at once rather than when the token expires.
"""

from __future__ import annotations

from aiohttp import web

from safestream.app_keys import PASSWORDS_KEY, SANCTIONS_KEY, SESSIONS_KEY, TOKENS_KEY
from safestream.auth.roles import Principal, Role
from safestream.errors import Banned, Forbidden, Unauthorized
from safestream.storage import users

PRINCIPAL_KEY = web.RequestKey("principal", Principal)


async def principal_from_token(app: web.Application, token: str) -> Principal:
    claims = app[TOKENS_KEY].decode(token)
    user = await users.get_user(app[SESSIONS_KEY], username=claims.username)
    if user is None:
        raise Unauthorized("invalid or expired token")
    if app[SANCTIONS_KEY].banned(user.username, None) is not None:
        raise Banned("this account is banned")
    moderates = await users.moderated_streams(app[SESSIONS_KEY], username=user.username)
    return Principal(username=user.username, role=Role.parse(user.role), moderates=frozenset(moderates))


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(request: web.Request) -> Principal:
    cached = request.get(PRINCIPAL_KEY)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("a bearer token is required")
    principal = await principal_from_token(request.app, token)
    request[PRINCIPAL_KEY] = principal
    return principal


async def require_role(request: web.Request, *roles: Role) -> Principal:
    principal = await authenticate(request)
    if principal.role not in roles:
        raise Forbidden("your role may not do this")
    return principal


async def verify_login(app: web.Application, username: str, password: str) -> Principal | None:
    """Checks a password in constant-ish time whether or not the user exists."""
    user = await users.get_user(app[SESSIONS_KEY], username=username)
    ok = await app[PASSWORDS_KEY].verify(user.password_hash if user else None, password)
    if not ok or user is None:
        return None
    return Principal(username=user.username, role=Role.parse(user.role))
