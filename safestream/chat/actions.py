"""Moderation actions: check -> do -> notify -> audit, shared by the REST API,
the console and automod (strikes).

Every function takes the acting username (``automod`` for automatic actions)
and records an audit row, so the audit log is complete whoever acted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from safestream.app_keys import (
    BROADCASTER_KEY,
    CLUSTER_KEY,
    CONSOLE_KEY,
    MEMBERSHIP_KEY,
    METRICS_KEY,
    ROOMS_KEY,
    SANCTIONS_KEY,
    SESSIONS_KEY,
    WRITER_KEY,
)
from safestream.chat.payloads import iso
from safestream.storage import audit, users
from safestream.storage.models import AdminAction, Message

AUTOMOD = "automod"


async def record(app: web.Application, *, actor: str, action: str, target: str = "", stream: str | None = None,
                 reason: str = "", details: dict[str, Any] | None = None) -> AdminAction:
    """The audit row, and the same entry live on the consoles watching."""
    row = await audit.record_action(app[SESSIONS_KEY], actor=actor, action=action, target=target, stream=stream,
                                    reason=reason, details=details)
    console = app.get(CONSOLE_KEY)
    if console is not None:
        await console.audit(stream, audit_entry(row))
    return row


def audit_entry(row: Any) -> dict[str, Any]:
    return {"id": row.id, "actor": row.actor, "action": row.action, "target": row.target, "stream": row.stream,
            "reason": row.reason, "details": row.details, "ts": iso(row.created_at)}


async def _kick_everywhere(app: web.Application, username: str, payload: dict[str, Any]) -> int:
    """This process's sockets now; the other processes' through the cluster bus."""
    await app[CLUSTER_KEY].broadcast("kick", {"username": username, "payload": payload})
    return await app[MEMBERSHIP_KEY].kick(username, payload)


async def _sanction(app: web.Application, op: str, kind: str, username: str, stream: str | None,
                    until: datetime | None) -> None:
    if op == "add":
        app[SANCTIONS_KEY].add(kind, username, stream, until)
    else:
        app[SANCTIONS_KEY].lift(kind, username, stream)
    await app[CLUSTER_KEY].broadcast("sanction", {"op": op, "kind": kind, "username": username, "stream": stream,
                                                  "until": until.isoformat() if until else None})


async def kick(app: web.Application, *, actor: str, username: str, stream: str | None,
               reason: str = "") -> int:
    payload = {"stream": stream, "reason": reason or "kicked by a moderator"}
    sockets = await _kick_everywhere(app, username, payload)
    await record(app, actor=actor, action="kick", target=username, stream=stream,
                              reason=reason, details={"sockets": sockets})
    return sockets


async def mute(app: web.Application, *, actor: str, username: str, stream: str | None, duration_s: float,
               reason: str = "") -> datetime:
    until = datetime.now(UTC) + timedelta(seconds=duration_s)
    await _sanction(app, "add", "mute", username, stream, until)  # in force before the database write
    await audit.add_sanction(app[SESSIONS_KEY], kind="mute", username=username, stream=stream, until=until,
                             reason=reason, actor=actor)
    payload = {"stream": stream, "reason": reason or "muted by a moderator", "until": iso(until)}
    await app[BROADCASTER_KEY].to_user(username, "muted", payload)
    await record(app, actor=actor, action="mute", target=username, stream=stream,
                              reason=reason, details={"duration_s": duration_s, "until": iso(until)})
    return until


async def unmute(app: web.Application, *, actor: str, username: str, stream: str | None) -> None:
    await _sanction(app, "lift", "mute", username, stream, None)
    await audit.lift_sanctions(app[SESSIONS_KEY], kind="mute", username=username, stream=stream)
    await record(app, actor=actor, action="unmute", target=username, stream=stream)


async def ban(app: web.Application, *, actor: str, username: str, stream: str | None,
              duration_s: float | None, reason: str = "") -> datetime | None:
    """A ban (a timeout when ``duration_s`` is set): refused at join/connect, and kicked now."""
    until = datetime.now(UTC) + timedelta(seconds=duration_s) if duration_s else None
    await _sanction(app, "add", "ban", username, stream, until)
    await audit.add_sanction(app[SESSIONS_KEY], kind="ban", username=username, stream=stream, until=until,
                             reason=reason, actor=actor)
    if stream is None:  # site-wide: the user's tokens end too, so lifting the ban does not revive them
        await users.revoke_tokens(app[SESSIONS_KEY], username=username)
    payload: dict[str, Any] = {"stream": stream, "reason": reason or "banned by a moderator"}
    if until is not None:
        payload["until"] = iso(until)
    sockets = await _kick_everywhere(app, username, payload)
    await record(app, actor=actor, action="ban" if until is None else "timeout",
                              target=username, stream=stream, reason=reason,
                              details={"until": iso(until) if until else None, "sockets": sockets})
    return until


async def unban(app: web.Application, *, actor: str, username: str, stream: str | None) -> None:
    await _sanction(app, "lift", "ban", username, stream, None)
    await audit.lift_sanctions(app[SESSIONS_KEY], kind="ban", username=username, stream=stream)
    await record(app, actor=actor, action="unban", target=username, stream=stream)


async def remove_messages(app: web.Application, *, actor: str, stream: str, ids: list[int],
                          reason: str = "") -> None:
    rooms = app[ROOMS_KEY]
    drop = set(ids)
    room = rooms.get(stream)
    if room is not None:
        kept = [m for m in room.history if m["id"] not in drop]
        room.history.clear()
        room.history.extend(kept)
        if rooms.cluster.shared:
            await rooms.cluster.replace_history(stream, [m for m in await rooms.recent(room, rooms.ring_size)
                                                         if m["id"] not in drop])
            await rooms.cluster.broadcast("removed", {"stream": stream, "ids": ids})
    # Through the writer: a row still in the write-behind buffer is changed there, so a
    # removed message can never be inserted later without its removal.
    await app[WRITER_KEY].update(Message, stream=stream, seqs=ids, values={"review": "removed"},
                                 line=review_line(stream, ids, "removed"))
    await app[BROADCASTER_KEY].message_removed(stream, ids)
    await app[CONSOLE_KEY].removed(stream, ids)  # every open console strikes the rows, not just the actor's
    await record(app, actor=actor, action="remove_messages", stream=stream,
                              reason=reason, details={"ids": ids})


def review_line(stream: str, ids: list[int], review: str) -> dict[str, Any]:
    """The JSONL record of a review change, replayed by start-up recovery and import-jsonl."""
    return {"type": "review", "stream": stream, "ids": ids, "review": review, "ts": iso(datetime.now(UTC))}


async def reset_metrics(app: web.Application) -> None:
    app[METRICS_KEY].reset()
    cluster = app[CLUSTER_KEY]
    await cluster.reset_metrics()
    await cluster.broadcast("metrics_reset", {})
