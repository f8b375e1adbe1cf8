"""Publishing messages whose verdicts are known: ids, write-ahead, broadcast, history, metrics, acks.

The send path (``ChatPipeline``) calls ``publish`` for each screened batch and
for each batch the sentence stage has read; console approvals call
``publish_approved``: the same policy rendering, broadcaster, history and log,
under the message's original id.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.metrics import Metrics
from safestream.chat.payloads import chat_payload
from safestream.chat.pending import Pending, message_record
from safestream.chat.rooms import Rooms
from safestream.chat.stream_policies import PolicyBook
from safestream.chat.strikes import StrikeCounter
from safestream.cluster import Cluster
from safestream.moderation.engine import Assessment, explain
from safestream.moderation.normalize import normalize
from safestream.moderation.policy import VISIBLE, Decision
from safestream.storage.models import Message
from safestream.storage.writer import Record, WriteBehind

StrikeOut = Callable[[str, str, float], Coroutine[Any, Any, None]]


class Publisher:
    def __init__(
        self,
        *,
        rooms: Rooms,
        cluster: Cluster,
        broadcaster: Broadcaster,
        writer: WriteBehind,
        metrics: Metrics,
        policies: PolicyBook,
        on_strikeout: StrikeOut | None = None,
    ) -> None:
        self._rooms = rooms
        self._cluster = cluster
        self._broadcaster = broadcaster
        self._writer = writer
        self._metrics = metrics
        self.policies = policies
        self._on_strikeout = on_strikeout
        self.strikes = StrikeCounter()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Called with every published batch (all actions, scores included): the console's feed.
        self.listeners: list[Callable[[list[dict[str, Any]]], Awaitable[None]]] = []

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
