"""Moderation actions: check -> do -> notify -> audit, shared by the REST API,
the console and automod (strikes).

Every action takes the acting username (``automod`` for automatic actions)
and records an audit row, so the audit log is complete whoever acted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.membership import Membership
from safestream.chat.metrics import Metrics
from safestream.chat.payloads import iso
from safestream.chat.rooms import Rooms
from safestream.chat.sanctions import Sanctions
from safestream.cluster import Cluster
from safestream.storage import audit, users
from safestream.storage.db import SessionMaker
from safestream.storage.models import AdminAction, Message
from safestream.storage.writer import WriteBehind

AUTOMOD = "automod"

#: Called with (stream, entry) for every audit row: the consoles show it live.
AuditListener = Callable[[str | None, dict[str, Any]], Awaitable[None]]


def audit_entry(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "stream": row.stream,
        "reason": row.reason,
        "details": row.details,
        "ts": iso(row.created_at),
    }


def review_line(stream: str, ids: list[int], review: str) -> dict[str, Any]:
    """The JSONL record of a review change, replayed by start-up recovery and import-jsonl."""
    return {"type": "review", "stream": stream, "ids": ids, "review": review, "ts": iso(datetime.now(UTC))}


class ModeratorActions:
    def __init__(
        self,
        *,
        sessions: SessionMaker,
        sanctions: Sanctions,
        cluster: Cluster,
        membership: Membership,
        broadcaster: Broadcaster,
        rooms: Rooms,
        writer: WriteBehind,
        metrics: Metrics,
    ) -> None:
        self._sessions = sessions
        self._sanctions = sanctions
        self._cluster = cluster
        self._membership = membership
        self._broadcaster = broadcaster
        self._rooms = rooms
        self._writer = writer
        self._metrics = metrics
        self.audit_listeners: list[AuditListener] = []
        #: Called with (stream, ids) after messages were removed (the consoles strike their rows).
        self.removal_listeners: list[Callable[[str, list[int]], Awaitable[None]]] = []

    async def record(
        self,
        *,
        actor: str,
        action: str,
        target: str = "",
        stream: str | None = None,
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> AdminAction:
        """The audit row, and the same entry live on the consoles watching."""
        row = await audit.record_action(
            self._sessions, actor=actor, action=action, target=target, stream=stream, reason=reason, details=details
        )
        for listener in self.audit_listeners:
            await listener(stream, audit_entry(row))
        return row

    async def _kick_everywhere(self, username: str, payload: dict[str, Any]) -> int:
        """This process's sockets now; the other processes' through the cluster bus."""
        await self._cluster.broadcast("kick", {"username": username, "payload": payload})
        return await self._membership.kick(username, payload)

    async def _sanction(self, op: str, kind: str, username: str, stream: str | None, until: datetime | None) -> None:
        if op == "add":
            self._sanctions.add(kind, username, stream, until)
        else:
            self._sanctions.lift(kind, username, stream)
        await self._cluster.broadcast(
            "sanction",
            {
                "op": op,
                "kind": kind,
                "username": username,
                "stream": stream,
                "until": until.isoformat() if until else None,
            },
        )

    async def kick(self, *, actor: str, username: str, stream: str | None, reason: str = "") -> int:
        payload = {"stream": stream, "reason": reason or "kicked by a moderator"}
        sockets = await self._kick_everywhere(username, payload)
        await self.record(
            actor=actor, action="kick", target=username, stream=stream, reason=reason, details={"sockets": sockets}
        )
        return sockets

    async def mute(
        self, *, actor: str, username: str, stream: str | None, duration_s: float, reason: str = ""
    ) -> datetime:
        until = datetime.now(UTC) + timedelta(seconds=duration_s)
        await self._sanction("add", "mute", username, stream, until)  # in force before the database write
        await audit.add_sanction(
            self._sessions, kind="mute", username=username, stream=stream, until=until, reason=reason, actor=actor
        )
        payload = {"stream": stream, "reason": reason or "muted by a moderator", "until": iso(until)}
        await self._broadcaster.to_user(username, "muted", payload)
        await self.record(
            actor=actor,
            action="mute",
            target=username,
            stream=stream,
            reason=reason,
            details={"duration_s": duration_s, "until": iso(until)},
        )
        return until

    async def unmute(self, *, actor: str, username: str, stream: str | None) -> None:
        await self._sanction("lift", "mute", username, stream, None)
        await audit.lift_sanctions(self._sessions, kind="mute", username=username, stream=stream)
        await self.record(actor=actor, action="unmute", target=username, stream=stream)

    async def ban(
        self, *, actor: str, username: str, stream: str | None, duration_s: float | None, reason: str = ""
    ) -> datetime | None:
        """A ban (a timeout when ``duration_s`` is set): refused at join/connect, and kicked now."""
        until = datetime.now(UTC) + timedelta(seconds=duration_s) if duration_s else None
        await self._sanction("add", "ban", username, stream, until)
        await audit.add_sanction(
            self._sessions, kind="ban", username=username, stream=stream, until=until, reason=reason, actor=actor
        )
        if stream is None:  # site-wide: the user's tokens end too, so lifting the ban does not revive them
            await users.revoke_tokens(self._sessions, username=username)
        payload: dict[str, Any] = {"stream": stream, "reason": reason or "banned by a moderator"}
        if until is not None:
            payload["until"] = iso(until)
        sockets = await self._kick_everywhere(username, payload)
        await self.record(
            actor=actor,
            action="ban" if until is None else "timeout",
            target=username,
            stream=stream,
            reason=reason,
            details={"until": iso(until) if until else None, "sockets": sockets},
        )
        return until

    async def unban(self, *, actor: str, username: str, stream: str | None) -> None:
        await self._sanction("lift", "ban", username, stream, None)
        await audit.lift_sanctions(self._sessions, kind="ban", username=username, stream=stream)
        await self.record(actor=actor, action="unban", target=username, stream=stream)

    async def remove_messages(self, *, actor: str, stream: str, ids: list[int], reason: str = "") -> None:
        await self._rooms.remove_messages(stream, ids)
        # Through the writer: a row still in the write-behind buffer is changed there, so a
        # removed message can never be inserted later without its removal.
        await self._writer.update(
            Message, stream=stream, seqs=ids, values={"review": "removed"}, line=review_line(stream, ids, "removed")
        )
        await self._broadcaster.message_removed(stream, ids)
        for listener in self.removal_listeners:
            await listener(stream, ids)
        await self.record(actor=actor, action="remove_messages", stream=stream, reason=reason, details={"ids": ids})

    async def reset_metrics(self) -> None:
        self._metrics.reset()
        await self._cluster.reset_metrics()
        await self._cluster.broadcast("metrics_reset", {})
