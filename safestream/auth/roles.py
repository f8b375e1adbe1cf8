"""Roles and the authenticated principal every handler receives."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Role(enum.StrEnum):
    VIEWER = "viewer"
    STREAMER = "streamer"
    MODERATOR = "moderator"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value)
        except ValueError:
            return cls.VIEWER  # an unknown stored role grants nothing beyond a viewer's


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    role: Role
    #: Streams this user moderates through a per-stream grant.
    moderates: frozenset[str] = field(default_factory=frozenset)
    #: The account's token version this principal was authenticated at (see ``auth.tokens``).
    token_version: int = 0
    #: For the chat gates (``moderation.modes.gates``): account age and a verified email.
    created_at: datetime | None = None
    email_verified: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_global_moderator(self) -> bool:
        return self.role in (Role.ADMIN, Role.MODERATOR)

    def can_open_streams(self) -> bool:
        return self.role in (Role.STREAMER, Role.ADMIN)

    def can_moderate(self, stream: str | None, owner: str | None = None) -> bool:
        """Admins and global moderators everywhere; a stream's owner and granted moderators there.

        ``stream=None`` means a site-wide action, which only global roles may take.
        """
        if self.is_global_moderator:
            return True
        if stream is None:
            return False
        return stream in self.moderates or (owner is not None and owner == self.username)

    def may_act_on(self, target_role: Role, *, target_owns_stream: bool = False) -> bool:
        """Whether this moderator may kick, mute or ban a user of ``target_role``.

        Global roles are only sanctioned by global roles (admins only by admins),
        and a stream's owner only by global roles: a streamer or a per-stream
        moderator cannot silence the staff who moderate their stream.
        """
        if self.is_admin:
            return True
        if target_role is Role.ADMIN:
            return False
        if self.is_global_moderator:
            return True
        return target_role is not Role.MODERATOR and not target_owns_stream
