"""The send path: validate -> check -> moderate -> decide -> broadcast -> persist -> ack.

``submit`` does every check synchronously and queues the message before the
caller awaits anything, so one user's messages keep their arrival order (each
socket event runs as its own task). The moderation batcher then processes
messages in order, batch by batch: each batch is scored in one call, ids are
handed out in order, each stream's visible messages go out as one emit, and
the rows are queued for the write-behind writer. Console approvals go
through ``publish_approved``: the same policy rendering, broadcaster, history
and log, under the message's original id.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.metrics import Metrics
from safestream.chat.payloads import chat_payload, error_ack
from safestream.chat.pending import Pending, merge_hit, message_record
from safestream.chat.ratelimit import SlidingWindowLimiter
from safestream.chat.rooms import Rooms
from safestream.chat.sanctions import Sanctions
from safestream.chat.send_checks import SlowMode, refuse_cluster_duplicates, resolve_stream, sender_of, until_text
from safestream.chat.stream_policies import PolicyBook
from safestream.chat.strikes import StrikeCounter
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
from safestream.moderation.engine import Assessment, ModerationEngine, explain
from safestream.moderation.modes.checker import ModeChecker
from safestream.moderation.modes.rule_io import Sender
from safestream.moderation.normalize import normalize
from safestream.moderation.policy import VISIBLE, Decision
from safestream.settings import Settings
from safestream.sio.connections import Connection
from safestream.storage.models import Message
from safestream.storage.writer import Record, WriteBehind

#: In auto mode, batches up to this size (with an empty queue) go to the transformer whole.
AUTO_ESCALATE_BATCH = 4

StrikeOut = Callable[[str, str, float], Coroutine[Any, Any, None]]


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
        self._broadcaster = broadcaster
        self._writer = writer
        self._metrics = metrics
        self.policies = policies
        self._on_strikeout = on_strikeout
        self.limiter = SlidingWindowLimiter(settings.rate_limit_per_user, settings.rate_limit_window_secs)
        self.strikes = StrikeCounter()
        self.modes = modes or ModeChecker()
        self._slow_mode = SlowMode()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Called with every published batch (all actions, scores included): the console's feed.
        self.listeners: list[Callable[[list[dict[str, Any]]], Awaitable[None]]] = []
        self._batcher: MicroBatcher[Pending, dict[str, Any]] = MicroBatcher(
            self._process, max_batch=512, max_queue=settings.moderation_queue_size, name="moderation"
        )

    def start(self) -> None:
        self._batcher.start()

    async def close(self, timeout: float | None = None) -> None:
        """Refuses new messages with ``shutting_down`` and answers every queued one."""
        await self._batcher.close(timeout, grace=5.0 if timeout is None else timeout)

    @property
    def queued(self) -> int:
        return len(self._batcher)

    def submit(self, conn: Connection, data: Any) -> Any:
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

    async def _process(self, items: list[Pending]) -> list[dict[str, Any]]:
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
        assessments = await self._engine.assess(
            [item.text for item in todo], escalate_all=self._transformer_keeps_up(len(todo))
        )
        decisions = [self._decide(item, a) for item, a in zip(todo, assessments, strict=True)]
        acks = iter(await self.publish(todo, assessments, decisions) if todo else [])
        return [r if r is not None else next(acks) for r in refused]

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

    async def publish(
        self, items: list[Pending], assessments: list[Assessment], decisions: list[Decision]
    ) -> list[dict[str, Any]]:
        """Ids, broadcast, persistence and acks for messages whose verdicts are known."""
        next_id: dict[str, int] = {}
        counts = Counter(item.stream for item in items)
        rooms = {stream: await self._rooms.load(stream) for stream in counts}
        for stream, n in counts.items():
            next_id[stream] = await self._rooms.reserve_ids(rooms[stream], "chat", n)
        visible: dict[str, list[dict[str, Any]]] = {}
        toxic: Counter[str] = Counter()
        acks: list[dict[str, Any]] = []
        published: list[dict[str, Any]] = []
        records: list[Record] = []
        for item, assessment, decision in zip(items, assessments, decisions, strict=True):
            seq = next_id[item.stream]
            next_id[item.stream] += 1
            shown = decision.shown or item.text
            payload = chat_payload(
                id=seq,
                stream=item.stream,
                user=item.username,
                message=shown,
                toxic=decision.toxic,
                score=decision.score,
                ts=item.received,
            )
            if decision.action in VISIBLE:
                visible.setdefault(item.stream, []).append(payload)
            self._metrics.record_message(item.stream, toxic=decision.toxic)
            toxic[item.stream] += decision.toxic
            if decision.action != "allow":
                self._strike(item.stream, item.username)
            records.append(message_record(item, assessment, decision, seq, shown, payload))
            ack = {"ok": True, "id": seq, "action": decision.action, "toxic": decision.toxic, "score": payload["score"]}
            if decision.action not in VISIBLE and decision.category:
                ack["reason"] = decision.category  # the sender's client says why, in words

            if decision.rule:
                ack["rule"] = decision.rule  # a chat-mode rule decided, not the model
            acks.append(ack)
            if self.listeners:
                published.append(
                    {
                        **payload,
                        "text": item.text,
                        "action": decision.action,
                        "categories": assessment.scores,
                        "terms": decision.terms,
                        "rule": decision.rule,
                        "explain": explain(assessment, decision),
                    }
                )
        # Write-ahead: logged before anyone sees an id, so a SIGKILL can lose no acked
        # message and the next start-up continues above every id handed out.
        await self._writer.accept(records)
        for stream, payloads in visible.items():
            await self._broadcaster.chat(stream, payloads)
            await self._rooms.add_history(rooms[stream], payloads)
        for stream, n in counts.items():
            await self._cluster.add_metrics(stream, messages=n, toxic=toxic[stream])
        for listener in self.listeners:
            await listener(published)
        return acks

    async def publish_approved(self, held: Message) -> dict[str, Any]:
        """A held message a moderator approved goes out now, under the id it was held with.

        It is rendered by the stream's current policy as the send path renders
        (listed terms masked), so approval never shows more than chat would. Its
        sender already has a held card with this id, which the client replaces.
        """
        policy = self.policies.get(held.stream)
        decision = policy.approved(held.text, normalize(held.text), dict(held.categories))
        payload = chat_payload(
            id=held.seq,
            stream=held.stream,
            user=held.username,
            message=decision.shown,
            toxic=decision.toxic,
            score=decision.score,
            ts=held.created_at,
        )
        room = await self._rooms.load(held.stream)
        # The chat line is logged before anyone sees it, as on the send path; the review
        # change itself is logged by the caller (ReviewQueue.decide) with the decision.
        await self._writer.accept([Record(None, None, (payload,))])
        await self._broadcaster.chat(held.stream, [payload])
        await self._rooms.add_history(room, [payload])
        return {
            "ok": True,
            "id": held.seq,
            "action": decision.action,
            "toxic": decision.toxic,
            "score": payload["score"],
            "message": decision.shown,
        }

    def _strike(self, stream: str, username: str) -> None:
        rule = self.policies.get(stream).strikes
        if rule is None or self._on_strikeout is None:
            return
        duration = self.strikes.strike(stream, username, rule)
        if duration is not None:
            task = asyncio.create_task(self._on_strikeout(stream, username, duration))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
