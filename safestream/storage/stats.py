"""Aggregates the metrics are rebuilt from at start-up: the database is the record, counters a cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, select

from safestream.storage.db import SessionMaker
from safestream.storage.models import AdminAction, GiftEvent, Message

#: Gifters kept per stream when rebuilding (the console shows the top five).
TOP_GIFTERS = 50


@dataclass
class StoredFigures:
    messages: dict[str, int] = field(default_factory=dict)
    toxic: dict[str, int] = field(default_factory=dict)
    gifts: dict[str, int] = field(default_factory=dict)
    gift_amounts: dict[str, int] = field(default_factory=dict)
    gifters: dict[str, dict[str, int]] = field(default_factory=dict)
    #: (stream, sent at, toxic) for the messages of the chart's window.
    recent: list[tuple[str, datetime, bool]] = field(default_factory=list)


async def last_reset(sessions: SessionMaker) -> datetime | None:
    """When an admin last reset the metrics (the audit log is where that is recorded)."""
    async with sessions() as session:
        stmt = select(func.max(AdminAction.created_at)).where(AdminAction.action == "reset_metrics")
        at = (await session.exec(stmt)).one()
    if isinstance(at, str):  # SQLite's MAX() loses the column type
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


async def figures(sessions: SessionMaker, *, since: datetime | None, recent_since: datetime) -> StoredFigures:
    out = StoredFigures()
    after = [] if since is None else [col(Message.created_at) >= since]
    gifts_after = [] if since is None else [col(GiftEvent.created_at) >= since]
    async with sessions() as session:
        by_toxic = await session.exec(
            select(Message.stream, Message.toxic, func.count())
            .where(*after)
            .group_by(col(Message.stream), col(Message.toxic))
        )
        for stream, toxic, n in by_toxic.all():
            out.messages[stream] = out.messages.get(stream, 0) + int(n)
            if toxic:
                out.toxic[stream] = int(n)
        gift_totals = await session.exec(
            select(GiftEvent.stream, func.count(), func.sum(GiftEvent.amount))
            .where(*gifts_after)
            .group_by(col(GiftEvent.stream))
        )
        for stream, n, amount in gift_totals.all():
            out.gifts[stream], out.gift_amounts[stream] = int(n), int(amount or 0)
        by_sender = await session.exec(
            select(GiftEvent.stream, GiftEvent.sender, func.sum(GiftEvent.amount))
            .where(*gifts_after)
            .group_by(col(GiftEvent.stream), col(GiftEvent.sender))
        )
        for stream, sender, amount in by_sender.all():
            out.gifters.setdefault(stream, {})[sender] = int(amount or 0)
        window = max(recent_since, since) if since is not None else recent_since
        recent = await session.exec(
            select(Message.stream, Message.created_at, Message.toxic).where(col(Message.created_at) >= window)
        )
        out.recent = [(s, ts, bool(t)) for s, ts, t in recent.all()]
    for stream, amounts in out.gifters.items():
        out.gifters[stream] = dict(sorted(amounts.items(), key=lambda kv: -kv[1])[:TOP_GIFTERS])
    return out
