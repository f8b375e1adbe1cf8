"""Turning a bearer token (or the console's cookie) into a ``Principal``.

The token says who the user is; the database says whether they still exist,
what their role is now and which token version is current, so deleting a
user, changing a role or password, a ban or a logout takes effect at once
rather than when the token expires. The database is shared by every process,
so a revocation holds cluster-wide; open sockets are dropped through the
cluster bus (``auth.revocation``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from safestream.auth.passwords import Passwords
from safestream.auth.principals import PrincipalLoader
from safestream.auth.roles import Principal, Role
from safestream.auth.tokens import TokenService
from safestream.chat.sanctions import Sanctions
from safestream.errors import Banned, Forbidden, Unauthorized
from safestream.storage import users
from safestream.storage.db import SessionMaker
from safestream.storage.models import User

PRINCIPAL_KEY = web.RequestKey("principal", Principal)


class Guard:
    """Who a token or a password belongs to, checked against the database and the site bans.

    Built once by the app factory; HTTP and socket handlers reach it through ``GUARD_KEY``.
    """

    def __init__(
        self, *, tokens: TokenService, sessions: SessionMaker, sanctions: Sanctions, passwords: Passwords
    ) -> None:
        self._tokens = tokens
        self._sessions = sessions
        self._sanctions = sanctions
        self._passwords = passwords

    async def from_token(self, token: str, *, loader: PrincipalLoader | None = None) -> Principal:
        """``loader``: a socket connect, batched and cached (``auth.principals``); else the database now."""
        claims = self._tokens.decode(token)
        if loader is None:
            return await self.current(claims.username, version=claims.version, issued_at=claims.issued_at)
        principal = await loader.get(claims.username)
        return self._still_valid(principal, version=claims.version, issued_at=claims.issued_at)

    async def current(self, username: str, *, version: int, issued_at: int | None = None) -> Principal:
        """The user as the database has them now, if a session at ``version`` is still valid.

        Also used to re-check an open socket before a privileged event.
        """
        user = await users.get_user(self._sessions, username=username)
        principal = None
        if user is not None:
            principal = make_principal(user, await users.moderated_streams(self._sessions, username=user.username))
        return self._still_valid(principal, version=version, issued_at=issued_at)

    def _still_valid(self, principal: Principal | None, *, version: int, issued_at: int | None) -> Principal:
        # A token from before the account existed belongs to a deleted namesake.
        created = principal.created_at if principal is not None else None
        if principal is None or (
            issued_at is not None and created is not None and issued_at < int(created.timestamp())
        ):
            raise Unauthorized("invalid or expired token")
        # Before the version check: a banned user's client learns why (a ban also revokes tokens).
        if self._sanctions.banned(principal.username, None) is not None:
            raise Banned("this account is banned")
        if version != principal.token_version:
            raise Unauthorized("this session has ended; log in again", code="session_ended")
        return principal

    async def verify_login(self, username: str, password: str) -> Principal | None:
        """Checks a password in constant-ish time whether or not the user exists."""
        user = await users.get_user(self._sessions, username=username)
        ok = await self._passwords.verify(user.password_hash if user else None, password)
        if not ok or user is None:
            return None
        return Principal(username=user.username, role=Role.parse(user.role), token_version=user.token_version)

    async def authenticate(self, request: web.Request) -> Principal:
        """The bearer token's principal, read once per request."""
        cached: Principal | None = request.get(PRINCIPAL_KEY)
        if cached is not None:
            return cached
        token = bearer_token(request)
        if token is None:
            raise Unauthorized("a bearer token is required")
        principal = await self.from_token(token)
        request[PRINCIPAL_KEY] = principal
        return principal

    async def require_role(self, request: web.Request, *roles: Role) -> Principal:
        principal = await self.authenticate(request)
        if principal.role not in roles:
            raise Forbidden("your role may not do this")
        return principal


def make_principal(user: User, moderates: set[str]) -> Principal:
    return Principal(
        username=user.username,
        role=Role.parse(user.role),
        moderates=frozenset(moderates),
        token_version=user.token_version,
        created_at=_aware(user.created_at),
        email_verified=user.email_verified_at is not None,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
