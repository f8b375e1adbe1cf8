"""Bulk actions for a raid: remove every recent message containing a phrase and
sanction (time out or ban) their senders in one step, with an undo for the bans.

The step is one audit row (``bulk_action``) listing what it did; the removal
and each sanction are also audited as themselves by ``ModeratorActions``. Senders
the moderator may not act on (staff, the stream's owner) keep their messages
and are not sanctioned: the same rule as one-by-one actions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from safestream.auth.roles import Principal, Role
from safestream.chat.moderator_actions import ModeratorActions
from safestream.chat.payloads import iso
from safestream.chat.rooms import Rooms
from safestream.errors import Conflict, InvalidPayload, NotFound
from safestream.storage import audit, users
from safestream.storage import messages as message_store
from safestream.storage.db import SessionMaker
from safestream.storage.writer import WriteBehind

SANCTIONS = ("none", "timeout", "ban")
MAX_WINDOW_MINS = 24 * 60


class BulkActions:
    def __init__(
        self, *, sessions: SessionMaker, writer: WriteBehind, rooms: Rooms, actions: ModeratorActions, undo_secs: float
    ) -> None:
        self._sessions = sessions
        self._writer = writer
        self._rooms = rooms
        self._actions = actions
        self._undo_secs = undo_secs

    async def bulk_action(
        self,
        *,
        principal: Principal,
        stream: str,
        phrase: str,
        window_mins: float = 10.0,
        sanction: str = "none",
        duration_s: float = 600.0,
        reason: str = "",
    ) -> dict[str, Any]:
        phrase = phrase.strip()
        if not 2 <= len(phrase) <= 200:
            raise InvalidPayload("the phrase needs 2 to 200 characters")
        if sanction not in SANCTIONS:
            raise InvalidPayload(f"sanction must be one of {', '.join(SANCTIONS)}")
        if not 0 < window_mins <= MAX_WINDOW_MINS:
            raise InvalidPayload(f"the window is 1 minute to {MAX_WINDOW_MINS} minutes")
        sessions = self._sessions
        await self._writer.flush_all()  # messages of the last flush window are included
        since = datetime.now(UTC) - timedelta(minutes=window_mins)
        rows = await message_store.recent_containing(sessions, stream=stream, text=phrase, since=since)
        room = await self._rooms.load(stream)
        allowed: dict[str, bool] = {}
        for name in {row.username for row in rows}:
            user = await users.get_user(sessions, username=name)
            role = Role.parse(user.role) if user is not None else Role.VIEWER
            allowed[name] = (
                principal.may_act_on(role, target_owns_stream=room.owner == name) and name != principal.username
            )
        ids = sorted(row.seq for row in rows if allowed[row.username])
        senders = sorted(name for name, ok in allowed.items() if ok)
        who, why = principal.username, reason or f"bulk action: {phrase!r}"
        if ids:
            await self._actions.remove_messages(actor=who, stream=stream, ids=ids, reason=why)
        if sanction != "none":
            for name in senders:
                await self._actions.ban(
                    actor=who,
                    username=name,
                    stream=stream,
                    reason=why,
                    duration_s=duration_s if sanction == "timeout" else None,
                )
        undo_until = datetime.now(UTC) + timedelta(seconds=self._undo_secs)
        details = {
            "phrase": phrase,
            "window_mins": window_mins,
            "ids": ids,
            "users": senders,
            "sanction": sanction,
            "duration_s": duration_s if sanction == "timeout" else None,
            "undo_until": iso(undo_until) if sanction != "none" and senders else None,
            "skipped": sorted(name for name, ok in allowed.items() if not ok),
        }
        row = await self._actions.record(actor=who, action="bulk_action", stream=stream, reason=why, details=details)
        return {"id": row.id, **details}

    async def undo_bulk(self, *, principal: Principal, stream: str, action_id: int) -> dict[str, Any]:
        """Lifts the bans and timeouts of one bulk action (removed messages stay removed)."""
        sessions = self._sessions
        row = await audit.get_action(sessions, action_id=action_id)
        if row is None or row.action != "bulk_action" or row.stream != stream:
            raise NotFound("no such bulk action in this stream")
        until = row.details.get("undo_until")
        if not until:
            raise Conflict("this bulk action sanctioned no one", code="nothing_to_undo")
        if datetime.now(UTC) > datetime.fromisoformat(until):
            raise Conflict("the undo window has passed", code="undo_expired")
        if not await audit.mark_action(sessions, action_id=action_id, undone=iso(datetime.now(UTC))):
            raise Conflict("already undone", code="already_undone")
        for name in row.details.get("users", []):
            await self._actions.unban(actor=principal.username, username=name, stream=stream)
        await self._actions.record(
            actor=principal.username,
            action="bulk_undo",
            stream=stream,
            details={"bulk_action": action_id, "users": row.details.get("users", [])},
        )
        return {"id": action_id, "unbanned": row.details.get("users", [])}
