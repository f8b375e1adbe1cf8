"""The links between accounts at an OpenID Connect provider and SafeStream users."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from safestream.errors import Conflict
from safestream.storage.db import SessionMaker
from safestream.storage.models import OidcIdentity, User, utcnow


async def linked_user(sessions: SessionMaker, *, issuer: str, subject: str) -> User | None:
    """The user linked to (issuer, subject), with the link's last sign-in time updated."""
    async with sessions() as session:
        link = (
            await session.exec(
                select(OidcIdentity).where(OidcIdentity.issuer == issuer, OidcIdentity.subject == subject)
            )
        ).first()
        if link is None:
            return None
        user = await session.get(User, link.user_id)
        if user is None:  # the account was deleted (the foreign key cascades; this covers a database without)
            await session.delete(link)
        else:
            link.last_login_at = utcnow()
            session.add(link)
        await session.commit()
        return user


async def link(sessions: SessionMaker, *, issuer: str, subject: str, user_id: int) -> None:
    async with sessions() as session:
        session.add(OidcIdentity(issuer=issuer, subject=subject, user_id=user_id))
        try:
            await session.commit()
        except IntegrityError as exc:
            # Two first sign-ins of one identity at once: the other one linked first.
            raise Conflict("this identity is already linked", code="identity_linked") from exc
