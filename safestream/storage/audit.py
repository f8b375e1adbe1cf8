"""Audit records and sanctions (mutes and bans)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, or_, select, update

from safestream.storage.db import SessionMaker
from safestream.storage.models import AdminAction, Sanction, utcnow


async def record_action(
    sessions: SessionMaker,
    *,
    actor: str,
    action: str,
    target: str = "",
    stream: str | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AdminAction:
    row = AdminAction(actor=actor, action=action, target=target, stream=stream, reason=reason, details=details or {})
    async with sessions() as session:
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return row


async def recent_actions(
    sessions: SessionMaker, *, limit: int = 100, stream: str | None = None, site_wide: bool = True
) -> list[AdminAction]:
    """Newest first; with ``stream``, that stream's entries (and site-wide ones if ``site_wide``)."""
    async with sessions() as session:
        stmt = select(AdminAction)
        if stream is not None and site_wide:
            stmt = stmt.where(or_(col(AdminAction.stream) == stream, col(AdminAction.stream).is_(None)))
        elif stream is not None:
            stmt = stmt.where(col(AdminAction.stream) == stream)
        rows = await session.exec(stmt.order_by(col(AdminAction.id).desc()).limit(limit))
        return list(rows.all())


async def actions_on(sessions: SessionMaker, *, target: str, stream: str, limit: int = 30) -> list[AdminAction]:
    """Newest first: what moderators (and automod) did to ``target`` in ``stream`` or site-wide."""
    async with sessions() as session:
        stmt = select(AdminAction).where(
            AdminAction.target == target, or_(col(AdminAction.stream) == stream, col(AdminAction.stream).is_(None))
        )
        return list((await session.exec(stmt.order_by(col(AdminAction.id).desc()).limit(limit))).all())


async def add_sanction(
    sessions: SessionMaker,
    *,
    kind: str,
    username: str,
    stream: str | None,
    until: datetime | None,
    reason: str,
    actor: str,
) -> Sanction:
    row = Sanction(kind=kind, username=username, stream=stream, until=until, reason=reason, actor=actor)
    async with sessions() as session:
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return row


async def lift_sanctions(sessions: SessionMaker, *, kind: str, username: str, stream: str | None) -> int:
    async with sessions() as session:
        stmt = (
            update(Sanction)
            .where(col(Sanction.kind) == kind, col(Sanction.username) == username, col(Sanction.active).is_(True))
            .values(active=False)
        )
        stmt = stmt.where(col(Sanction.stream).is_(None) if stream is None else col(Sanction.stream) == stream)
        result = await session.exec(stmt)
        await session.commit()
        return int(result.rowcount or 0)


async def active_sanctions(sessions: SessionMaker) -> list[Sanction]:
    """Sanctions still in force, for warming the in-memory cache at start-up."""
    now = utcnow()
    async with sessions() as session:
        rows = await session.exec(
            select(Sanction).where(
                col(Sanction.active).is_(True), or_(col(Sanction.until).is_(None), col(Sanction.until) > now)
            )
        )
        return list(rows.all())


async def get_action(sessions: SessionMaker, *, action_id: int) -> AdminAction | None:
    async with sessions() as session:
        return await session.get(AdminAction, action_id)


async def mark_action(sessions: SessionMaker, *, action_id: int, **details: Any) -> bool:
    """Adds ``details`` to an audit row once (e.g. ``undone``); False when a key is already there."""
    async with sessions() as session:
        row = await session.get(AdminAction, action_id, with_for_update=True)
        if row is None or any(key in row.details for key in details):
            return False
        row.details = {**row.details, **details}
        session.add(row)
        await session.commit()
        return True
