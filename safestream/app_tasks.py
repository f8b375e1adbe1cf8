"""The app's life around its services: the database before them, background work after, the drain at shutdown.

``create_app`` registers these as cleanup contexts (set up in order, torn down
in reverse) around ``_services``: the database is migrated and recovered
before any service starts; the background tasks (demo seed, counters rebuilt
from the record, live rooms loaded, the sweeper, review expiry) start once
every service exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web

from safestream import runner
from safestream.app_keys import (
    ENGINE_KEY,
    GIFTS_KEY,
    METRICS_KEY,
    NUDGE_KEY,
    PASSWORDS_KEY,
    PIPELINE_KEY,
    POLICIES_KEY,
    REPLAYS_KEY,
    REVIEW_KEY,
    ROOMS_KEY,
    SANCTIONS_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    THROTTLES_KEY,
)
from safestream.chat.metrics import BUCKET_SECS, TIMELINE_BUCKETS
from safestream.demo import seed_demo
from safestream.storage import db, importer, stats
from safestream.storage import stream_rows as stream_store

log = logging.getLogger(__name__)


async def database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    url = settings.effective_database_url
    await db.migrate(url)
    engine = db.create_engine(url)
    app[ENGINE_KEY] = engine
    app[SESSIONS_KEY] = sessions = db.session_maker(engine)
    # Before any room hands out an id: rows a SIGKILL left unwritten come back from the
    # log, so ids continue above every id that was acked.
    await importer.recover(sessions, settings.effective_log_dir)
    yield
    await engine.dispose()


async def drain_and_disconnect(app: web.Application) -> None:
    """On shutdown, before the server waits for open connections to finish.

    ``safestream serve`` has drained already, while connections were still
    read (see ``runner``); under any other runner (tests, an embedding app)
    this is where it happens.
    """
    await runner.drain(app)


async def background(app: web.Application) -> AsyncIterator[None]:
    settings, sessions, rooms = app[SETTINGS_KEY], app[SESSIONS_KEY], app[ROOMS_KEY]
    if settings.seed_demo:
        log.warning(
            "DEMO MODE: demo accounts with published passwords (demo_admin/admin123, ...) are seeded; "
            "set SAFESTREAM_DEMO=0 or SAFESTREAM_ENV=production for a real deployment"
        )
        await seed_demo(sessions=sessions, passwords=app[PASSWORDS_KEY], rooms=rooms, slug=settings.default_stream)
    # Counters restart from the record, not from zero (counted since the last audited reset).
    since = await stats.last_reset(sessions)
    recent = datetime.now(UTC) - timedelta(seconds=BUCKET_SECS * TIMELINE_BUCKETS)
    app[METRICS_KEY].rebuild(await stats.figures(sessions, since=since, recent_since=recent), since=since)
    policies, gifts, pipeline = app[POLICIES_KEY], app[GIFTS_KEY], app[PIPELINE_KEY]
    for stream in await stream_store.live_streams(sessions):
        await rooms.load(stream.slug)
        await policies.load(stream.slug)
        gifts.start_producer(stream.slug)
    sweepers: list[Callable[[], object]] = [
        app[SANCTIONS_KEY].sweep,
        pipeline.limiter.sweep,
        app[REPLAYS_KEY].sweep,
        gifts.limiter.sweep,
        pipeline.strikes.sweep,
        pipeline.modes.unique.sweep,
        app[NUDGE_KEY].limiter.sweep,
        app[THROTTLES_KEY].sweep,
    ]
    tasks = [
        asyncio.create_task(sweep(settings.cleanup_interval, sweepers), name="sweeper"),
        asyncio.create_task(app[REVIEW_KEY].expiry_loop(), name="review-expiry"),
    ]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sweep(interval: float, sweepers: list[Callable[[], object]]) -> None:
    """Every CLEANUP_INTERVAL: forget expired mutes and idle rate-limit windows."""
    while True:
        await asyncio.sleep(interval)
        for forget_expired in sweepers:
            forget_expired()
