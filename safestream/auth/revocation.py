"""Ending a user's sessions at once: bearer tokens, console cookies and open sockets.

Tokens carry the account's token version (``auth.tokens``); raising it in the
database revokes every token issued before, on every process (they share the
database, and every request checks it). Sockets authenticated earlier are
dropped here and, through the cluster bus, on every other process. Used by
logout, password change, role change, site-wide bans and account deletion.
"""

from __future__ import annotations

from typing import Any

from safestream.auth.principals import PrincipalLoader
from safestream.chat.membership import Membership
from safestream.cluster import Cluster
from safestream.sio.connections import Connections
from safestream.storage import users
from safestream.storage.db import SessionMaker


class Revocation:
    def __init__(
        self,
        *,
        sessions: SessionMaker,
        cluster: Cluster,
        connections: Connections,
        membership: Membership,
        principals: PrincipalLoader,
    ) -> None:
        self._sessions = sessions
        self._principals = principals
        self._cluster = cluster
        self._connections = connections
        self._membership = membership

    async def drop_sockets(self, *, username: str, reason: str) -> int:
        """Every socket of the user gets ``kicked`` (stream null) and is disconnected, cluster-wide."""
        payload = {"stream": None, "reason": reason}
        await self._cluster.broadcast("sessions_ended", {"username": username, "payload": payload})
        return await self.sessions_ended(username, payload)

    async def sessions_ended(self, username: str, payload: dict[str, Any]) -> int:
        """This process's part: remember the end (for sockets mid-connect), then drop the open ones."""
        self._connections.sessions_ended(username)
        self._principals.invalidate(username)  # the next connect reads the database again
        return await self._membership.kick(username, payload)

    async def end_sessions(self, *, username: str, reason: str) -> int:
        """Revokes the user's tokens, then drops their sockets; the number of local sockets dropped."""
        await users.revoke_tokens(self._sessions, username=username)
        return await self.drop_sockets(username=username, reason=reason)
