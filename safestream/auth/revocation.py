"""Ending a user's sessions at once: bearer tokens, console cookies and open sockets.

Tokens carry the account's token version (``auth.tokens``); raising it in the
database revokes every token issued before, on every process (they share the
database, and every request checks it). Sockets authenticated earlier are
dropped here and, through the cluster bus, on every other process. Used by
logout, password change, role change, site-wide bans and account deletion.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from safestream.app_keys import (
    CLUSTER_KEY,
    CONNECTIONS_KEY,
    MEMBERSHIP_KEY,
    PRINCIPALS_KEY,
    SESSIONS_KEY,
)
from safestream.storage import users


async def drop_sockets(app: web.Application, *, username: str, reason: str) -> int:
    """Every socket of the user gets ``kicked`` (stream null) and is disconnected, cluster-wide."""
    payload = {"stream": None, "reason": reason}
    await app[CLUSTER_KEY].broadcast("sessions_ended", {"username": username, "payload": payload})
    return await sessions_ended(app, username, payload)


async def sessions_ended(app: web.Application, username: str, payload: dict[str, Any]) -> int:
    """This process's part: remember the end (for sockets mid-connect), then drop the open ones."""
    app[CONNECTIONS_KEY].sessions_ended(username)
    app[PRINCIPALS_KEY].invalidate(username)  # the next connect reads the database again
    return await app[MEMBERSHIP_KEY].kick(username, payload)


async def end_sessions(app: web.Application, *, username: str, reason: str) -> int:
    """Revokes the user's tokens, then drops their sockets; the number of local sockets dropped."""
    await users.revoke_tokens(app[SESSIONS_KEY], username=username)
    return await drop_sockets(app, username=username, reason=reason)
