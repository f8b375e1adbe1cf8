"""Every shared resource of the app, as a typed ``web.AppKey``.

Resources are created in ``app.py``'s cleanup contexts; handlers read them
through these keys so the type checker knows what they get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from safestream.cluster import Cluster
from safestream.settings import Settings

if TYPE_CHECKING:
    from safestream.auth.guard import Guard
    from safestream.auth.oidc_routes import OidcService
    from safestream.auth.passwords import Passwords
    from safestream.auth.principals import PrincipalLoader
    from safestream.auth.revocation import Revocation
    from safestream.auth.throttles import Throttles
    from safestream.auth.tokens import TokenService
    from safestream.auth.verification import Verifier
    from safestream.chat.broadcaster import Broadcaster
    from safestream.chat.bulk import BulkActions
    from safestream.chat.membership import Membership
    from safestream.chat.metrics import Metrics
    from safestream.chat.moderator_actions import ModeratorActions
    from safestream.chat.nudge import Nudger
    from safestream.chat.pipeline import ChatPipeline
    from safestream.chat.policy_changes import PolicyChanges
    from safestream.chat.replay import Replays
    from safestream.chat.review_queue import ReviewQueue
    from safestream.chat.rooms import Rooms
    from safestream.chat.sanctions import Sanctions
    from safestream.chat.stream_lifecycle import StreamLifecycle
    from safestream.chat.stream_policies import PolicyBook
    from safestream.console.live import ConsoleLive
    from safestream.console.session import ConsoleSessions
    from safestream.gifts.service import GiftService
    from safestream.moderation.engine import ModerationEngine
    from safestream.sio.connections import Connections
    from safestream.sio.server import ChatServer
    from safestream.sio.watchdog import SlowConsumerWatchdog
    from safestream.storage.db import SessionMaker
    from safestream.storage.writer import WriteBehind

SETTINGS_KEY = web.AppKey("settings", Settings)
CLUSTER_KEY = web.AppKey("cluster", Cluster)
ENGINE_KEY = web.AppKey("db_engine", AsyncEngine)
SESSIONS_KEY: web.AppKey[SessionMaker] = web.AppKey("db_sessions")
WRITER_KEY: web.AppKey[WriteBehind] = web.AppKey("write_behind")
PASSWORDS_KEY: web.AppKey[Passwords] = web.AppKey("passwords")
TOKENS_KEY: web.AppKey[TokenService] = web.AppKey("tokens")
SIO_KEY: web.AppKey[ChatServer] = web.AppKey("sio")
CONNECTIONS_KEY: web.AppKey[Connections] = web.AppKey("connections")
ROOMS_KEY: web.AppKey[Rooms] = web.AppKey("rooms")
SANCTIONS_KEY: web.AppKey[Sanctions] = web.AppKey("sanctions")
METRICS_KEY: web.AppKey[Metrics] = web.AppKey("metrics")
BROADCASTER_KEY: web.AppKey[Broadcaster] = web.AppKey("broadcaster")
MODERATION_KEY: web.AppKey[ModerationEngine] = web.AppKey("moderation")
PIPELINE_KEY: web.AppKey[ChatPipeline] = web.AppKey("pipeline")
POLICIES_KEY: web.AppKey[PolicyBook] = web.AppKey("policies")
GIFTS_KEY: web.AppKey[GiftService] = web.AppKey("gifts")
CONSOLE_KEY: web.AppKey[ConsoleLive] = web.AppKey("console_live")
THROTTLES_KEY: web.AppKey[Throttles] = web.AppKey("throttles")
MEMBERSHIP_KEY: web.AppKey[Membership] = web.AppKey("membership")
REPLAYS_KEY: web.AppKey[Replays] = web.AppKey("replays")
WATCHDOG_KEY: web.AppKey[SlowConsumerWatchdog] = web.AppKey("slow_consumers")
PRINCIPALS_KEY: web.AppKey[PrincipalLoader] = web.AppKey("principals")
NUDGE_KEY: web.AppKey[Nudger] = web.AppKey("nudge")
VERIFIER_KEY: web.AppKey[Verifier] = web.AppKey("email_verifier")
ACTIONS_KEY: web.AppKey[ModeratorActions] = web.AppKey("moderator_actions")
REVIEW_KEY: web.AppKey[ReviewQueue] = web.AppKey("review_queue")
LIFECYCLE_KEY: web.AppKey[StreamLifecycle] = web.AppKey("stream_lifecycle")
BULK_KEY: web.AppKey[BulkActions] = web.AppKey("bulk_actions")
POLICY_CHANGES_KEY: web.AppKey[PolicyChanges] = web.AppKey("policy_changes")
REVOCATION_KEY: web.AppKey[Revocation] = web.AppKey("revocation")
OIDC_KEY: web.AppKey[OidcService] = web.AppKey("oidc")
GUARD_KEY: web.AppKey[Guard] = web.AppKey("guard")
CONSOLE_SESSIONS_KEY: web.AppKey[ConsoleSessions] = web.AppKey("console_sessions")
