"""The app factory: ``create_app(settings)`` builds everything, nothing exists before it.

Shared resources are created in cleanup contexts (set up in order, torn down
in reverse) and read through the typed keys in ``app_keys``. Shutdown order
matters for durability: stop producing, drain the moderation queue (its
messages get acked), then drain the write-behind queue to the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from safestream import app_tasks as tasks
from safestream.api.status import STARTED_KEY
from safestream.app_keys import (
    ACTIONS_KEY,
    BROADCASTER_KEY,
    BULK_KEY,
    CLUSTER_KEY,
    CONNECTIONS_KEY,
    CONSOLE_KEY,
    CONSOLE_SESSIONS_KEY,
    GIFTS_KEY,
    GUARD_KEY,
    LIFECYCLE_KEY,
    MEMBERSHIP_KEY,
    METRICS_KEY,
    MODERATION_KEY,
    NUDGE_KEY,
    PASSWORDS_KEY,
    PIPELINE_KEY,
    POLICIES_KEY,
    POLICY_CHANGES_KEY,
    PRINCIPALS_KEY,
    REPLAYS_KEY,
    REVIEW_KEY,
    REVOCATION_KEY,
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
from safestream.auth.guard import Guard, make_principal
from safestream.auth.mail import create_mailer
from safestream.auth.passwords import Passwords
from safestream.auth.principals import PrincipalLoader
from safestream.auth.revocation import Revocation
from safestream.auth.throttles import Throttles
from safestream.auth.tokens import TokenService
from safestream.auth.verification import Verifier
from safestream.chat.broadcaster import Broadcaster
from safestream.chat.bulk import BulkActions
from safestream.chat.fanout import make_fanout
from safestream.chat.membership import Membership
from safestream.chat.metrics import Metrics
from safestream.chat.moderator_actions import AUTOMOD, ModeratorActions
from safestream.chat.nudge import Nudger
from safestream.chat.pipeline import ChatPipeline
from safestream.chat.policy_changes import PolicyChanges
from safestream.chat.replay import RECOVERY_LIMIT, Replays
from safestream.chat.review_queue import ReviewQueue
from safestream.chat.rooms import Rooms
from safestream.chat.sanctions import Sanctions
from safestream.chat.stream_lifecycle import StreamLifecycle
from safestream.chat.stream_policies import PolicyBook
from safestream.cluster import create_cluster
from safestream.cluster.events import ClusterEvents
from safestream.console.live import ConsoleLive
from safestream.console.session import ConsoleSessions
from safestream.gifts.service import GiftService
from safestream.http import middleware
from safestream.install_secret import with_install_secret
from safestream.moderation.engine import ModerationEngine
from safestream.moderation.modes.checker import ModeChecker
from safestream.moderation.modes.unique import UniqueChat
from safestream.moderation.policy import Policy
from safestream.routes import add_routes
from safestream.settings import Settings
from safestream.sio.connections import Connections
from safestream.sio.factory import MAX_SOCKET_PACKET, create_sio
from safestream.sio.namespace import ChatNamespace
from safestream.sio.watchdog import SlowConsumerWatchdog
from safestream.storage import audit
from safestream.storage.jsonl import JsonlLog
from safestream.storage.writer import WriteBehind
from safestream.templating import JINJA_KEY, create_environment

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    limits = middleware.input_limits(socketio_path="/socket.io", max_polling_body=MAX_SOCKET_PACKET)
    app = web.Application(
        middlewares=[middleware.security_headers, middleware.errors, limits], client_max_size=256 * 1024
    )
    settings = with_install_secret(settings)
    app.on_response_prepare.append(middleware.server_header)
    app[SETTINGS_KEY] = settings
    app[JINJA_KEY] = create_environment()
    sio = create_sio(settings)
    app[SIO_KEY] = sio
    sio.attach(app)
    app[STARTED_KEY] = time.monotonic()
    add_routes(app)
    oidc_routes.configure(app)  # sign-in's own set-up; its URLs are in the route table
    app.cleanup_ctx.extend([tasks.database, _services, tasks.background])
    app.on_shutdown.append(tasks.drain_and_disconnect)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    sessions, sio = app[SESSIONS_KEY], app[SIO_KEY]
    app[THROTTLES_KEY] = Throttles(settings)
    app[WATCHDOG_KEY] = watchdog = SlowConsumerWatchdog(sio, max_queue=settings.max_socket_queue)
    passwords = Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
    app[PASSWORDS_KEY] = passwords
    app[PRINCIPALS_KEY] = principals = PrincipalLoader(sessions, make_principal)
    app[TOKENS_KEY] = tokens = TokenService(settings.jwt_secret_key, expire_minutes=settings.jwt_expire_minutes)
    jsonl = JsonlLog(settings.effective_log_dir, max_bytes=settings.jsonl_max_bytes, backups=settings.jsonl_backups)
    writer = WriteBehind(
        sessions, jsonl, capacity=settings.write_queue_size, flush_interval=settings.flush_interval_ms / 1000
    )
    app[WRITER_KEY] = writer
    sanctions = Sanctions()
    sanctions.load(await audit.active_sanctions(sessions))
    app[SANCTIONS_KEY] = sanctions
    app[GUARD_KEY] = guard = Guard(tokens=tokens, sessions=sessions, sanctions=sanctions, passwords=passwords)
    app[CONSOLE_SESSIONS_KEY] = ConsoleSessions(
        guard=guard, tokens=tokens, secret=settings.jwt_secret_key, secure=settings.production
    )
    app[CLUSTER_KEY] = cluster = create_cluster(settings)
    rooms = Rooms(sessions, history_size=settings.history_size, ring_size=RECOVERY_LIMIT, cluster=cluster)
    cluster.local_viewers = lambda: {room.slug: set(room.viewers) for room in rooms.all()}
    app[ROOMS_KEY] = rooms
    app[METRICS_KEY] = metrics = Metrics(rooms, cluster)
    app[CONNECTIONS_KEY] = connections = Connections()
    app[BROADCASTER_KEY] = broadcaster = Broadcaster(
        sio,
        connections,
        viewer_count=metrics.viewer_count,
        flush_window=settings.chat_flush_window_ms / 1000,
        frame_budget=settings.chat_frame_budget,
        fanout=make_fanout(sio, settings.fanout, sio.wires),
    )
    app[MEMBERSHIP_KEY] = membership = Membership(sio, connections, rooms, broadcaster, cluster)
    app[VERIFIER_KEY] = verifier = Verifier(
        create_mailer(settings),
        secret=settings.jwt_secret_key,
        sessions=sessions,
        cluster=cluster,
        connections=connections,
        principals=principals,
    )
    app[REVOCATION_KEY] = revocation = Revocation(
        sessions=sessions, cluster=cluster, connections=connections, membership=membership, principals=principals
    )
    app[ACTIONS_KEY] = actions = ModeratorActions(
        sessions=sessions,
        sanctions=sanctions,
        cluster=cluster,
        membership=membership,
        broadcaster=broadcaster,
        rooms=rooms,
        writer=writer,
        metrics=metrics,
    )
    app[REPLAYS_KEY] = replays = Replays(
        rooms, sessions, writer, joins_per_window=settings.joins_per_window, budget=settings.replay_budget
    )
    engine = ModerationEngine.from_settings(settings)
    # The encoder loads while the server starts serving; chat waits for it (engine.assess).
    engine.start_loading()
    app[MODERATION_KEY] = engine
    default_policy = Policy.default(settings.toxic_threshold, failure_action=settings.moderation_failure_action)
    app[POLICIES_KEY] = policies = PolicyBook(sessions, default_policy, cluster)

    async def strike_out(stream: str, username: str, duration: float) -> None:
        await actions.mute(
            actor=AUTOMOD, username=username, stream=stream, duration_s=duration, reason="too many moderated messages"
        )

    # Unique chat's copy-paste count: this process's, or every process's through the cluster.
    pipeline = ChatPipeline(
        settings=settings,
        engine=engine,
        rooms=rooms,
        cluster=cluster,
        sanctions=sanctions,
        broadcaster=broadcaster,
        writer=writer,
        metrics=metrics,
        policies=policies,
        on_strikeout=strike_out,
        modes=ModeChecker(UniqueChat(cluster.crowds())),
    )
    app[PIPELINE_KEY] = pipeline
    app[NUDGE_KEY] = nudger = Nudger(settings=settings, pipeline=pipeline, engine=engine)
    app[GIFTS_KEY] = gifts = GiftService(
        rooms=rooms,
        cluster=cluster,
        broadcaster=broadcaster,
        writer=writer,
        metrics=metrics,
        sanctions=sanctions,
        interval=settings.gift_interval_secs,
        gifts_per_window=settings.gifts_per_window,
    )
    app[REVIEW_KEY] = review = ReviewQueue(
        sessions=sessions,
        writer=writer,
        policies=policies,
        pipeline=pipeline,
        broadcaster=broadcaster,
        actions=actions,
        expiry_secs=settings.review_expiry_secs,
    )
    app[LIFECYCLE_KEY] = lifecycle = StreamLifecycle(
        sessions=sessions,
        rooms=rooms,
        policies=policies,
        gifts=gifts,
        cluster=cluster,
        broadcaster=broadcaster,
        membership=membership,
        max_live_per_owner=settings.max_live_streams_per_owner,
    )
    app[BULK_KEY] = BulkActions(
        sessions=sessions, writer=writer, rooms=rooms, actions=actions, undo_secs=settings.bulk_undo_secs
    )
    app[POLICY_CHANGES_KEY] = PolicyChanges(policies=policies, actions=actions, broadcaster=broadcaster)
    app[CONSOLE_KEY] = console = ConsoleLive(
        jinja=app[JINJA_KEY], broadcaster=broadcaster, metrics=metrics, rooms=rooms
    )
    pipeline.listeners.append(console.published)
    actions.audit_listeners.append(console.audit)
    actions.removal_listeners.append(console.removed)  # every open console strikes the rows, not just the actor's
    review.listeners.append(console.review_decided)
    namespace = ChatNamespace(
        settings=settings,
        connections=connections,
        guard=guard,
        principals=principals,
        pipeline=pipeline,
        nudger=nudger,
        rooms=rooms,
        policies=policies,
        sanctions=sanctions,
        membership=membership,
        replays=replays,
        metrics=metrics,
        console=console,
    )
    # Registered here, once its services exist; no socket connects before startup ends.
    sio.register_namespace(namespace)
    events = ClusterEvents(
        membership=membership,
        sanctions=sanctions,
        rooms=rooms,
        gifts=gifts,
        lifecycle=lifecycle,
        policies=policies,
        metrics=metrics,
        writer=writer,
        sessions_ended=revocation.sessions_ended,
        mark_verified=verifier.mark_verified,
    )
    await cluster.start(events)
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
    await pipeline.close()  # normally already drained by _drain_and_disconnect
    await writer.close()  # drains to the database and JSONL
    await broadcaster.close()
    await engine.close()
    policies.close()
    await cluster.close()
    passwords.close()
    jsonl.close()
