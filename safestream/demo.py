"""Demo mode: the original design's accounts plus an admin, and a live stream ``main``.

Only when ``SAFESTREAM_DEMO`` is on and never in production: these passwords
are published in the README.
"""

from __future__ import annotations

import asyncio
import logging

from safestream.auth.passwords import Passwords
from safestream.chat.rooms import Rooms
from safestream.errors import Conflict
from safestream.storage import stream_rows as stream_store
from safestream.storage import users
from safestream.storage.db import SessionMaker

log = logging.getLogger(__name__)

DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("demo_user", "demo123", "viewer"),
    ("test_streamer", "test456", "streamer"),
    ("chat_viewer", "viewer789", "viewer"),
    ("demo_admin", "admin123", "admin"),
)
DEMO_STREAM_OWNER = "test_streamer"


async def seed_demo(*, sessions: SessionMaker, passwords: Passwords, rooms: Rooms, slug: str) -> None:
    """Seeds the accounts that are missing and opens the live stream ``slug`` (the default stream)."""
    missing = [
        (name, pw, role) for name, pw, role in DEMO_USERS if await users.get_user(sessions, username=name) is None
    ]
    hashes = await asyncio.gather(*(passwords.hash(pw) for _, pw, _ in missing))
    for (name, _, role), password_hash in zip(missing, hashes, strict=True):
        try:
            await users.create_user(
                sessions, username=name, password_hash=password_hash, role=role, email=f"{name}@demo.invalid"
            )
        except Conflict:
            pass  # another process seeded it first
    stream = await stream_store.get_stream(sessions, slug=slug)
    if stream is None or not stream.live:
        try:
            await stream_store.open_stream(sessions, slug=slug, title="SafeStream demo", owner=DEMO_STREAM_OWNER)
        except Conflict:
            log.warning("demo stream %r belongs to someone else; left as it is", slug)
    rooms.set_live(slug, live=True)
    if missing:
        log.info("demo accounts seeded: %s", ", ".join(name for name, _, _ in missing))
