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
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from aiohttp import web

from safestream import runner
from safestream.app_keys import (
    ENGINE_KEY,
    GIFTS_KEY,
    METRICS_KEY,
    NUDGE_KEY,
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
    settings = app[SETTINGS_KEY]
    if settings.seed_demo:
        log.warning(
            "DEMO MODE: demo accounts with published passwords (demo_admin/admin123, ...) are seeded; "
            "set SAFESTREAM_DEMO=0 or SAFESTREAM_ENV=production for a real deployment"
        )
        await seed_demo(app)
    # Counters restart from the record, not from zero (counted since the last audited reset).
    since = await stats.last_reset(app[SESSIONS_KEY])
    recent = datetime.now(UTC) - timedelta(seconds=BUCKET_SECS * TIMELINE_BUCKETS)
    app[METRICS_KEY].rebuild(await stats.figures(app[SESSIONS_KEY], since=since, recent_since=recent), since=since)
    for stream in await stream_store.live_streams(app[SESSIONS_KEY]):
        await app[ROOMS_KEY].load(stream.slug)
        await app[POLICIES_KEY].load(stream.slug)
        app[GIFTS_KEY].start_producer(stream.slug)
    tasks = [
        asyncio.create_task(sweep(app), name="sweeper"),
        asyncio.create_task(app[REVIEW_KEY].expiry_loop(), name="review-expiry"),
    ]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sweep(app: web.Application) -> None:
    """Every CLEANUP_INTERVAL: forget expired mutes and idle rate-limit windows."""
    while True:
        await asyncio.sleep(app[SETTINGS_KEY].cleanup_interval)
        app[SANCTIONS_KEY].sweep()
        app[PIPELINE_KEY].limiter.sweep()
        app[REPLAYS_KEY].sweep()
        app[GIFTS_KEY].limiter.sweep()
        app[PIPELINE_KEY].strikes.sweep()
        app[PIPELINE_KEY].modes.unique.sweep()
        app[NUDGE_KEY].limiter.sweep()
        app[THROTTLES_KEY].sweep()
