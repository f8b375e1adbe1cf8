"""The review queue: held messages wait here for a moderator (or expire).

Approving publishes the message through the send path's public entry
(``ChatPipeline.publish_approved``) under the id it was held with; "approve
and permit" also adds the message's listed terms to the stream's permitted
terms. Everything that can be refused (the terms, the policy they make) is
checked before the message leaves "pending", and a decision that fails after
that puts it back: a failed action never loses a message. The pending ->
decided transition is a conditional update, so two moderators cannot both
decide. Every outcome reaches the sender (``review_result``), the consoles
(the feed row says who decided what and when) and the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.moderator_actions import AUTOMOD, ModeratorActions, review_line
from safestream.chat.payloads import iso
from safestream.chat.pipeline import ChatPipeline
from safestream.chat.stream_policies import PolicyBook
from safestream.errors import Conflict, InvalidPayload, NotFound
from safestream.moderation.normalize import normalize
from safestream.moderation.policy import Policy
from safestream.moderation.terms import TermRule
from safestream.storage import messages as message_store
from safestream.storage.db import SessionMaker
from safestream.storage.models import Message
from safestream.storage.writer import WriteBehind

log = logging.getLogger(__name__)

DECISIONS = ("approve", "approve_permit", "deny")
MAX_TERMS = 20
MAX_TERM_LENGTH = 64

#: Called with (stream, seq, the row as decided) when a held message was decided or expired.
DecisionListener = Callable[[str, int, Message | None], Awaitable[None]]


def review_item(row: Message) -> dict[str, Any]:
    return {
        "id": row.seq,
        "stream": row.stream,
        "user": row.username,
        "message": row.text,
        "score": round(row.score, 4),
        "categories": row.categories,
        "ts": iso(row.created_at),
    }


def check_terms(terms: list[Any]) -> list[str]:
    """The terms a moderator permits: the same rules as the policy's term lists."""
    if len(terms) > MAX_TERMS:
        raise InvalidPayload(f"permit at most {MAX_TERMS} terms at once", code="invalid_terms")
    for term in terms:
        if not isinstance(term, str) or not 1 <= len(term) <= MAX_TERM_LENGTH:
            raise InvalidPayload(f"each term has 1 to {MAX_TERM_LENGTH} characters", code="invalid_terms")
        try:
            TermRule.parse(term)
        except ValueError as exc:
            raise InvalidPayload(f"term {term!r}: {exc}", code="invalid_terms") from exc
    return list(dict.fromkeys(terms))


def _permitting(policy: Policy, row: Message, terms: list[str] | None) -> tuple[list[str], Policy | None]:
    permit = (
        check_terms(terms) if terms else list(dict.fromkeys(m.term for m in policy.terms.find(normalize(row.text))))
    )
    if not permit:
        return [], None
    try:
        return permit, policy.with_permitted(*permit)
    except ValueError as exc:  # e.g. a term whose mode conflicts with a listed one
        raise InvalidPayload(f"cannot permit {', '.join(permit)}: {exc}", code="invalid_terms") from exc


class ReviewQueue:
    def __init__(
        self,
        *,
        sessions: SessionMaker,
        writer: WriteBehind,
        policies: PolicyBook,
        pipeline: ChatPipeline,
        broadcaster: Broadcaster,
        actions: ModeratorActions,
        expiry_secs: float,
    ) -> None:
        self._sessions = sessions
        self._writer = writer
        self._policies = policies
        self._pipeline = pipeline
        self._broadcaster = broadcaster
        self._actions = actions
        self._expiry_secs = expiry_secs
        self.listeners: list[DecisionListener] = []

    async def pending(self, *, stream: str | None, limit: int = 100) -> list[dict[str, Any]]:
        await self._writer.flush_all()  # held rows may still be in the write-behind buffer
        rows = await message_store.pending_review(self._sessions, stream=stream, limit=limit)
        return [review_item(row) for row in rows]

    async def decide(
        self, *, actor: str, stream: str, seq: int, decision: str, terms: list[str] | None = None
    ) -> dict[str, Any]:
        if decision not in DECISIONS:
            raise InvalidPayload("decision must be approve, approve_permit or deny")
        sessions = self._sessions
        await self._writer.flush_all()
        row = await message_store.get_message(sessions, stream=stream, seq=seq)
        if row is None or row.review is None:
            raise NotFound(f"no held message {seq} in {stream!r}", code="no_such_message")
        if row.review != "pending":
            raise Conflict(f"message {seq} was already {row.review}", code="already_reviewed")
        permit: list[str] = []
        permitted_policy: Policy | None = None
        if decision == "approve_permit":
            permit, permitted_policy = _permitting(self._policies.get(stream), row, terms)
        outcome = "denied" if decision == "deny" else "approved"
        now = datetime.now(UTC)
        if not await message_store.claim_review(sessions, stream=stream, seq=seq, review=outcome, actor=actor, at=now):
            raise Conflict(f"message {seq} was already reviewed", code="already_reviewed")
        result: dict[str, Any] = {"ok": True, "id": seq, "decision": decision}
        try:
            if decision == "approve_permit":
                if permitted_policy is not None:
                    await self._policies.update(stream, permitted_policy, actor=actor)
                result["permitted"] = permit
            if decision != "deny":
                ack = await self._pipeline.publish_approved(row)
                await message_store.record_publication(
                    sessions, stream=stream, seq=seq, action=ack["action"], shown=ack["message"], toxic=ack["toxic"]
                )
                result["published_id"] = ack["id"]
                result["action"] = ack["action"]
        except Exception:
            # Nothing was published: the message goes back to the queue rather than vanish.
            await message_store.unclaim_review(sessions, stream=stream, seq=seq)
            raise
        await self._writer.log([review_line(stream, [seq], outcome)])  # for import-jsonl
        await self._announce(row, outcome=outcome, at=now, result=result)
        await self._actions.record(
            actor=actor,
            action=f"review_{decision}",
            target=row.username,
            stream=stream,
            details={k: v for k, v in result.items() if k != "ok"},
        )
        return result

    async def _announce(self, row: Message, *, outcome: str, at: datetime, result: dict[str, Any]) -> None:
        """The sender learns the outcome; the consoles update the queue and the feed row."""
        payload: dict[str, Any] = {"stream": row.stream, "id": row.seq, "decision": outcome, "ts": iso(at)}
        if "action" in result:
            payload["action"] = result["action"]
        await self._broadcaster.to_user(row.username, "review_result", payload)
        if self.listeners:
            fresh = await message_store.get_message(self._sessions, stream=row.stream, seq=row.seq)
            for listener in self.listeners:
                await listener(row.stream, row.seq, fresh)

    async def expire_held(self, *, max_age_secs: float) -> int:
        """Held messages nobody reviewed in time are not published; the sender and the audit log are told."""
        sessions = self._sessions
        await self._writer.flush_all()
        now = datetime.now(UTC)
        expired = 0
        for row in await message_store.pending_before(sessions, before=now - timedelta(seconds=max_age_secs)):
            if not await message_store.claim_review(
                sessions, stream=row.stream, seq=row.seq, review="expired", actor=AUTOMOD, at=now
            ):
                continue  # a moderator decided it meanwhile
            expired += 1
            await self._announce(row, outcome="expired", at=now, result={})
            await self._actions.record(
                actor=AUTOMOD,
                action="review_expired",
                target=row.username,
                stream=row.stream,
                details={"id": row.seq, "age_s": round(max_age_secs)},
            )
        return expired

    async def expiry_loop(self) -> None:
        """Runs while the app does, when ``SAFESTREAM_REVIEW_EXPIRY_SECS`` is set."""
        max_age = self._expiry_secs
        if max_age <= 0:
            return
        interval = min(max(max_age / 4, 0.5), 60.0)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.expire_held(max_age_secs=max_age)
            except Exception:  # one failed sweep (a database blip) must not end the loop
                log.exception("expiring held messages failed")
