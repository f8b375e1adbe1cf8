"""The send path: validate -> check -> moderate -> decide -> broadcast -> persist -> ack.

``submit`` does every check synchronously and queues the message before the
caller awaits anything, so one user's messages keep their arrival order. The
moderation batcher then processes messages in order, batch by batch: the
cheap stages screen each batch in one call, ids are handed out in order, each
stream's visible messages go out as one emit, and the rows are queued for the
write-behind writer. A message the sentence stage must read (and any later
message of the same sender, so a user's messages stay in order) goes to a
sender's chain in ``HeldReads`` and is published when it has been read: a
slow sentence-stage call delays its own sender only, not the room. Console approvals go
through ``publish_approved``: the same policy rendering, broadcaster, history
and log, under the message's original id (``chat.publisher``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.held_reads import HeldReads
from safestream.chat.metrics import Metrics
from safestream.chat.payloads import error_ack
from safestream.chat.pending import Pending, merge_hit
from safestream.chat.publisher import Publisher, StrikeOut
from safestream.chat.ratelimit import SlidingWindowLimiter
from safestream.chat.rooms import Rooms
from safestream.chat.sanctions import Sanctions
from safestream.chat.send_checks import SlowMode, refuse_cluster_duplicates, resolve_stream, sender_of, until_text
from safestream.chat.stream_policies import PolicyBook
from safestream.chat.text import clean_message
from safestream.cluster import Cluster
from safestream.errors import (
    Banned,
    Busy,
    InvalidPayload,
    Muted,
    RateLimited,
    Refused,
    ShuttingDown,
    StreamOffline,
)
from safestream.moderation.batcher import MicroBatcher
from safestream.moderation.engine import Assessment, ModerationEngine
from safestream.moderation.modes.checker import ModeChecker
from safestream.moderation.modes.rule_io import Sender
from safestream.moderation.policy import Decision
from safestream.settings import Settings
from safestream.sio.connections import Connection
from safestream.storage.writer import WriteBehind

#: In auto mode, batches up to this size (with an empty queue) go to the transformer whole.
AUTO_ESCALATE_BATCH = 4


class ChatPipeline:
    def __init__(
        self,
        *,
        settings: Settings,
        engine: ModerationEngine,
        rooms: Rooms,
        cluster: Cluster,
        sanctions: Sanctions,
        broadcaster: Broadcaster,
        writer: WriteBehind,
        metrics: Metrics,
        policies: PolicyBook,
        on_strikeout: StrikeOut | None = None,
        modes: ModeChecker | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._rooms = rooms
        self._cluster = cluster
        self._sanctions = sanctions
        self._writer = writer
        self._metrics = metrics
        self.policies = policies
        self.limiter = SlidingWindowLimiter(settings.rate_limit_per_user, settings.rate_limit_window_secs)
        self.modes = modes or ModeChecker()
        self._slow_mode = SlowMode()
        self._publisher = Publisher(
            rooms=rooms,
            cluster=cluster,
            broadcaster=broadcaster,
            writer=writer,
            metrics=metrics,
            policies=policies,
            on_strikeout=on_strikeout,
        )
        self.strikes = self._publisher.strikes
        #: Called with every published batch (all actions, scores included): the console's feed.
        self.listeners = self._publisher.listeners
        self.publish = self._publisher.publish
        self.publish_approved = self._publisher.publish_approved
        # A batch's answer per message: its ack, or (read by the sentence stage) the future of it.
        self._batcher: MicroBatcher[Pending, dict[str, Any]] = MicroBatcher(
            self._process, max_batch=512, max_queue=settings.moderation_queue_size, name="moderation"
        )
        self._held = HeldReads(
            engine=engine, rooms=rooms, publish=self._publish_read, max_queue=settings.moderation_queue_size
        )

    def start(self) -> None:
        self._batcher.start()
        self._held.start()

    async def close(self, timeout: float | None = None) -> None:
        """Refuses new messages with ``shutting_down`` and answers every queued one."""
        grace = 5.0 if timeout is None else timeout
        await self._batcher.close(timeout, grace=grace)  # may still hand messages to the held reads
        await self._held.close(timeout, grace=grace)

    @property
    def queued(self) -> int:
        return len(self._batcher) + len(self._held)

    def submit(self, conn: Connection, data: Any) -> asyncio.Future[dict[str, Any]]:
        """Checks a ``chat`` event and queues it; returns a future of the ack."""
        if self._batcher.closing:  # first: the sender should resend elsewhere, whatever else is wrong
            raise ShuttingDown()
        if not isinstance(data, dict):
            raise InvalidPayload('chat takes an object: {"message": "...", "stream"?: "..."}')
        stream = self.resolve_stream(conn, data.get("stream"))
        self._check_live(stream)
        text = clean_message(data.get("message"), max_length=self._settings.max_message_length)
        username = conn.username
        if (until := self._sanctions.banned(username, stream)) is not None:
            raise Banned("you are banned from this stream", until=until_text(until))
        if (until := self._sanctions.muted(username, stream)) is not None:
            raise Muted(until=until_text(until))
        if (retry := self.limiter.check(username)) is not None:
            raise RateLimited(retry_after=retry)
        modes, sender = self.policies.get(stream).modes, self.sender(conn, stream)
        hit = self.modes.check(stream, text, modes, sender)
        if hit is not None and hit.action == "refuse":
            raise Refused(hit.message, code=hit.code, rule=hit.rule)
        self._slow_mode.check(stream, username, self.policies.get(stream).slow_mode_secs)
        if not self._writer.has_room:
            raise Busy("the server is busy; try again shortly", retry_after=1.0)
        post = self.modes.shared_post(stream, text, modes, sender)
        return self._batcher.submit(Pending(stream, username, text, datetime.now(UTC), hit, post))

    def sender(self, conn: Connection, stream: str) -> Sender:
        """What the chat-mode rules know about the sender, for this stream."""
        return sender_of(conn, stream, self._rooms.get(stream))

    def resolve_stream(self, conn: Connection, raw: Any) -> str:
        return resolve_stream(conn, raw, self._rooms)

    def _check_live(self, stream: str) -> None:
        room = self._rooms.get(stream)
        if room is None or not room.live:
            raise StreamOffline(f"{stream!r} is not live")

    async def _process(self, items: list[Pending]) -> list[dict[str, Any] | asyncio.Future[dict[str, Any]]]:
        refused: list[dict[str, Any] | None] = [None] * len(items)
        # The local limiter saw only this process; the cluster counts every process (alone: never over).
        over = await self._cluster.over_limit(
            [item.username for item in items], self.limiter.limit, self.limiter.window
        )
        for i, is_over in enumerate(over):
            if is_over:
                refused[i] = error_ack(RateLimited(retry_after=self.limiter.window).to_dict())
        await refuse_cluster_duplicates(self.modes.unique, items, refused)
        for i, item in enumerate(items):
            room = self._rooms.get(item.stream)
            if refused[i] is None and (room is None or not room.live):  # the stream ended while it waited
                refused[i] = error_ack(StreamOffline(f"{item.stream!r} is not live").to_dict())
        todo = [item for item, r in zip(items, refused, strict=True) if r is None]
        assessments = await self._engine.screen(
            [item.text for item in todo], escalate_all=self._transformer_keeps_up(len(todo))
        )
        now: list[tuple[Pending, Assessment]] = []
        # Per message of todo: None (published now) or the future of its ack once read.
        later: list[asyncio.Future[dict[str, Any]] | None] = []
        for item, assessment in zip(todo, assessments, strict=True):
            if assessment.awaiting or self._held.holding(item.username):
                later.append(self._held.hold(item, assessment))
            else:
                later.append(None)
                now.append((item, assessment))
        decisions = [self._decide(item, a) for item, a in now]
        acks = iter(await self.publish([i for i, _ in now], [a for _, a in now], decisions) if now else [])
        answers = iter(next(acks) if waiting is None else waiting for waiting in later)
        return [r if r is not None else next(answers) for r in refused]

    async def _publish_read(self, items: list[Pending], assessments: list[Assessment]) -> list[dict[str, Any]]:
        """Publishes held messages once read (``HeldReads``), under the policy of each one's stream."""
        decisions = [self._decide(item, a) for item, a in zip(items, assessments, strict=True)]
        return await self.publish(items, assessments, decisions)

    def _transformer_keeps_up(self, batch: int) -> bool:
        """In ``auto`` cascade mode the transformer scores everything while nothing waits behind it."""
        mode = self._settings.cascade
        return mode == "all" or (mode == "auto" and batch <= AUTO_ESCALATE_BATCH and not len(self._batcher))

    def _decide(self, item: Pending, assessment: Assessment) -> Decision:
        if assessment.failed:
            self._metrics.moderation_failures += 1
        decision = self.policies.get(item.stream).judge(
            item.text, assessment.normalized, assessment.scores, failed=assessment.failed
        )
        return merge_hit(decision, item.hit, item.text)
