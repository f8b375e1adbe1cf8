"""The app factory: ``create_app(settings)`` builds everything, nothing exists before it.

Shared resources are created in cleanup contexts (set up in order, torn down
in reverse) and read through the typed keys in ``app_keys``. Shutdown order
matters for durability: stop producing, drain the moderation queue (its
messages get acked), then drain the write-behind queue to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from aiohttp import web

from safestream import runner, transport
from safestream.abuse import SlowConsumerWatchdog, Throttles
from safestream.api import admin, middleware, moderation, modes, pages, status, streams
from safestream.app_keys import (
    BROADCASTER_KEY,
    CLUSTER_KEY,
    CONNECTIONS_KEY,
    CONSOLE_KEY,
    ENGINE_KEY,
    GIFTS_KEY,
    MEMBERSHIP_KEY,
    METRICS_KEY,
    MODERATION_KEY,
    NUDGE_KEY,
    PASSWORDS_KEY,
    PIPELINE_KEY,
    PRINCIPALS_KEY,
    POLICIES_KEY,
    REPLAYS_KEY,
    ROOMS_KEY,
    SANCTIONS_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    SIO_KEY,
    THROTTLES_KEY,
    TOKENS_KEY,
    VERIFIER_KEY,
    WATCHDOG_KEY,
    WRITER_KEY,
)
from safestream.auth import oidc_routes
from safestream.auth import routes as auth_routes
from safestream.auth.mail import create_mailer
from safestream.auth.guard import make_principal
from safestream.auth.passwords import Passwords
from safestream.auth.principals import PrincipalLoader
from safestream.auth.tokens import TokenService
from safestream.auth.verification import Verifier
from safestream.chat import actions, review
from safestream.chat.broadcaster import Broadcaster
from safestream.chat.connections import Connections
from safestream.chat.fanout import make_fanout
from safestream.chat.membership import Membership
from safestream.chat.metrics import BUCKET_SECS, TIMELINE_BUCKETS, Metrics
from safestream.chat.namespace import ChatNamespace
from safestream.chat.nudge import Nudger
from safestream.chat.pipeline import ChatPipeline
from safestream.chat.policies import PolicyBook
from safestream.chat.replay import RECOVERY_LIMIT, Replays
from safestream.chat.rooms import Rooms
from safestream.chat.sanctions import Sanctions
from safestream.chat.server import ChatServer
from safestream.cluster import Cluster, RedisCluster
from safestream.cluster_events import on_cluster_event
from safestream.moderation.modes.checker import ModeChecker
from safestream.moderation.modes.crowd import LocalCrowds, RedisCrowds
from safestream.moderation.modes.unique import UniqueChat
from safestream.console import routes as console_routes
from safestream.console.live import ConsoleLive
from safestream.demo import seed_demo
from safestream.gifts import routes as gift_routes
from safestream.gifts.service import GiftService
from safestream.install_secret import with_install_secret
from safestream.jsonutil import OrjsonCodec
from safestream.moderation.engine import ModerationEngine
from safestream.moderation.policy import Policy
from safestream.redis_manager import ReconnectingRedisManager
from safestream.settings import Settings
from safestream.storage import audit, db, importer, stats
from safestream.storage import streams as stream_store
from safestream.storage.jsonl import JsonlLog
from safestream.storage.writer import WriteBehind
from safestream.templating import JINJA_KEY, STATIC_DIR, create_environment

log = logging.getLogger(__name__)


#: Engine.IO's limit for one packet or polling body (a chat message is at most a few KiB).
MAX_SOCKET_PACKET = 64 * 1024


def create_sio(settings: Settings) -> ChatServer:
    manager = (ReconnectingRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}:socketio")
               if settings.redis_url else None)
    sio = ChatServer(
        trusted_proxies=settings.trusted_proxies,
        max_pending_per_ip=settings.max_pending_per_ip,
        max_pending=settings.max_connections,
        auth_timeout=settings.auth_timeout_secs,
        async_mode="aiohttp",
        client_manager=manager,
        json=OrjsonCodec if settings.json_codec == "orjson" else None,
        # None keeps python-socketio's same-origin check; [] would disable it entirely.
        cors_allowed_origins=list(settings.cors_origins) or None,
        max_http_buffer_size=MAX_SOCKET_PACKET,
        # Several processes without sticky sessions: long-polling would spread one
        # session's requests over processes, so those deployments use websocket only.
        transports=list(settings.transports),
        logger=False,
        engineio_logger=False,
    )
    transport.tune(sio, compress=settings.ws_compression)
    return sio


def create_app(settings: Settings) -> web.Application:
    limits = middleware.input_limits(socketio_path="/socket.io", max_polling_body=MAX_SOCKET_PACKET)
    app = web.Application(middlewares=[middleware.security_headers, middleware.errors, limits],
                          client_max_size=256 * 1024)
    settings = with_install_secret(settings)
    app.on_response_prepare.append(middleware.server_header)
    app[SETTINGS_KEY] = settings
    app[JINJA_KEY] = create_environment()
    sio = create_sio(settings)
    app[SIO_KEY] = sio
    sio.register_namespace(ChatNamespace(app))
    sio.attach(app)
    for module in (auth_routes, oidc_routes, streams, gift_routes, admin, moderation, modes, status, pages):
        module.setup(app)
    console_routes.setup(app)
    app.router.add_static("/static", STATIC_DIR, name="static")
    app.router.add_get("/", _index)
    app.cleanup_ctx.extend([_database, _services, _background])
    app.on_shutdown.append(_drain_and_disconnect)
    return app


async def _index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


async def _database(app: web.Application) -> AsyncIterator[None]:
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


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    sessions = app[SESSIONS_KEY]
    app[THROTTLES_KEY] = Throttles(settings)
    app[WATCHDOG_KEY] = watchdog = SlowConsumerWatchdog(app[SIO_KEY], max_queue=settings.max_socket_queue)
    app[PASSWORDS_KEY] = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
    app[VERIFIER_KEY] = Verifier(create_mailer(settings))
    app[PRINCIPALS_KEY] = principals = PrincipalLoader(sessions, make_principal)
    app[TOKENS_KEY] = TokenService(settings.jwt_secret_key, expire_minutes=settings.jwt_expire_minutes)
    jsonl = JsonlLog(settings.effective_log_dir, max_bytes=settings.jsonl_max_bytes, backups=settings.jsonl_backups)
    writer = WriteBehind(sessions, jsonl, capacity=settings.write_queue_size,
                         flush_interval=settings.flush_interval_ms / 1000)
    app[WRITER_KEY] = writer
    sanctions = Sanctions()
    sanctions.load(await audit.active_sanctions(sessions))
    app[SANCTIONS_KEY] = sanctions
    app[CLUSTER_KEY] = cluster = RedisCluster(settings.redis_url, prefix=settings.redis_prefix) if settings.redis_url else Cluster()
    rooms = Rooms(sessions, history_size=settings.history_size, ring_size=RECOVERY_LIMIT, cluster=cluster)
    if isinstance(cluster, RedisCluster):
        cluster.local_viewers = lambda: {room.slug: set(room.viewers) for room in rooms.all()}
    app[ROOMS_KEY] = rooms
    app[METRICS_KEY] = metrics = Metrics(rooms)
    app[CONNECTIONS_KEY] = connections = Connections()
    app[BROADCASTER_KEY] = broadcaster = Broadcaster(
        app[SIO_KEY], connections, viewer_count=metrics.viewer_count,
        flush_window=settings.chat_flush_window_ms / 1000, fanout=make_fanout(app[SIO_KEY], settings.fanout))
    app[MEMBERSHIP_KEY] = Membership(app[SIO_KEY], connections, rooms, broadcaster)
    app[REPLAYS_KEY] = Replays(rooms, sessions, writer, joins_per_window=settings.joins_per_window,
                               budget=settings.replay_budget)
    engine = ModerationEngine.from_settings(settings)
    # The encoder loads while the server starts serving; chat waits for it (engine.assess).
    engine.start_loading()
    app[MODERATION_KEY] = engine
    default_policy = Policy.default(settings.toxic_threshold, failure_action=settings.moderation_failure_action)
    app[POLICIES_KEY] = policies = PolicyBook(sessions, default_policy, cluster)

    async def strike_out(stream: str, username: str, duration: float) -> None:
        await actions.mute(app, actor=actions.AUTOMOD, username=username, stream=stream, duration_s=duration,
                           reason="too many moderated messages")

    # Unique chat's copy-paste count: this process's, or every process's through Redis.
    crowds = RedisCrowds(cluster.redis, prefix=cluster.prefix) if isinstance(cluster, RedisCluster) else LocalCrowds()
    pipeline = ChatPipeline(settings=settings, engine=engine, rooms=rooms, sanctions=sanctions,
                            broadcaster=broadcaster, writer=writer, metrics=metrics, policies=policies,
                            on_strikeout=strike_out, modes=ModeChecker(UniqueChat(crowds)))
    app[PIPELINE_KEY] = pipeline
    app[NUDGE_KEY] = Nudger(settings=settings, pipeline=pipeline, engine=engine)
    app[GIFTS_KEY] = gifts = GiftService(rooms=rooms, broadcaster=broadcaster, writer=writer, metrics=metrics,
                                         sanctions=sanctions, interval=settings.gift_interval_secs,
                                         gifts_per_window=settings.gifts_per_window)
    app[CONSOLE_KEY] = console = ConsoleLive(app)
    pipeline.listeners.append(console.published)
    await cluster.start(functools.partial(on_cluster_event, app))
    writer.start()
    pipeline.start()
    console.start()
    watchdog.start()
    log.info("moderation chain: %s", engine.name)
    yield
    await watchdog.close()
    await principals.close()
    await console.close()
    await gifts.close()
    await pipeline.close()   # normally already drained by _drain_and_disconnect
    await writer.close()     # drains to the database and JSONL
    await broadcaster.close()
    await engine.close()
    policies.close()
    await cluster.close()
    app[PASSWORDS_KEY].close()
    jsonl.close()


async def _drain_and_disconnect(app: web.Application) -> None:
    """On shutdown, before the server waits for open connections to finish.

    ``safestream serve`` has drained already, while connections were still
    read (see ``runner``); under any other runner (tests, an embedding app)
    this is where it happens.
    """
    await runner.drain(app)


async def _background(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    if settings.seed_demo:
        log.warning("DEMO MODE: demo accounts with published passwords (demo_admin/admin123, ...) are seeded; "
                    "set SAFESTREAM_DEMO=0 or SAFESTREAM_ENV=production for a real deployment")
        await seed_demo(app)
    # Counters restart from the record, not from zero (counted since the last audited reset).
    since = await stats.last_reset(app[SESSIONS_KEY])
    recent = datetime.now(UTC) - timedelta(seconds=BUCKET_SECS * TIMELINE_BUCKETS)
    app[METRICS_KEY].rebuild(await stats.figures(app[SESSIONS_KEY], since=since, recent_since=recent), since=since)
    for stream in await stream_store.live_streams(app[SESSIONS_KEY]):
        await app[ROOMS_KEY].load(stream.slug)
        await app[POLICIES_KEY].load(stream.slug)
        app[GIFTS_KEY].start_producer(stream.slug)
    tasks = [asyncio.create_task(_sweep(app), name="sweeper"),
             asyncio.create_task(review.expiry_loop(app), name="review-expiry")]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _sweep(app: web.Application) -> None:
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
