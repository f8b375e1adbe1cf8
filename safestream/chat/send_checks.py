"""The send path's checks that need no pipeline state: which stream, who is sending, slow mode, floods."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from safestream.chat.payloads import error_ack, iso
from safestream.chat.pending import Pending
from safestream.chat.rooms import Room, Rooms, check_stream_name
from safestream.chat.sanctions import FOREVER
from safestream.errors import NotInStream, RateLimited, Refused, StreamOffline
from safestream.moderation.modes.rule_io import Sender
from safestream.moderation.modes.unique import UniqueChat
from safestream.sio.connections import Connection


def resolve_stream(conn: Connection, raw: Any, rooms: Rooms) -> str:
    """The stream a ``chat`` (or ``nudge``) is for: named, or the socket's only one."""
    if raw is None:
        if not conn.streams and len(conn.ended) == 1:
            raise StreamOffline(f"{next(iter(conn.ended))!r} has ended")
        if len(conn.streams) != 1:
            raise NotInStream(f"say which stream: you are in {len(conn.streams)}")
        return next(iter(conn.streams))
    stream = check_stream_name(raw)
    if stream not in conn.streams:
        room = rooms.get(stream)
        if stream in conn.ended or (room is not None and not room.live):
            raise StreamOffline(f"{stream!r} is not live")
        raise NotInStream(f"join {stream!r} before chatting in it")
    return stream


def sender_of(conn: Connection, stream: str, room: Room | None) -> Sender:
    """What the chat-mode rules know about the sender, for this stream."""
    principal = conn.principal
    created = principal.created_at
    return Sender(
        username=principal.username,
        privileged=principal.can_moderate(stream, room.owner if room is not None else None),
        account_age_secs=(datetime.now(UTC) - created).total_seconds() if created else None,
        email_verified=principal.email_verified,
    )


def until_text(until: datetime) -> str | None:
    """A sanction's end as the protocol shows it (null: forever)."""
    return None if until == FOREVER else iso(until)


class SlowMode:
    """One message every ``slow`` seconds per (stream, user)."""

    def __init__(self) -> None:
        self._last_sent: dict[tuple[str, str], float] = {}  # (stream, user) -> monotonic

    def check(self, stream: str, username: str, slow: float) -> None:
        if slow <= 0:
            return
        now = time.monotonic()
        last = self._last_sent.get((stream, username))
        if last is not None and now - last < slow:
            raise RateLimited(f"slow mode: one message every {slow:g} s", retry_after=slow - (now - last))
        self._last_sent[(stream, username)] = now


async def refuse_cluster_duplicates(
    unique: UniqueChat, items: list[Pending], refused: list[dict[str, Any] | None]
) -> None:
    """Unique chat's counts across processes (``submit`` only saw this process's): a user's repeat
    of what they sent through another process, and floods spread over processes. One round trip
    per batch, none when no message carries a post (unique chat off, or one process)."""
    todo = [(i, item.post) for i, item in enumerate(items) if refused[i] is None and item.post is not None]
    if not todo:
        return
    answers = await unique.crowds.confirm([post for _, post in todo])
    for (i, _), hit in zip(todo, answers, strict=True):
        if hit is not None:
            refused[i] = error_ack(Refused(hit.message, code=hit.code, rule=hit.rule).to_dict())
