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
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from safestream.app_keys import (
    BROADCASTER_KEY,
    CONSOLE_KEY,
    PIPELINE_KEY,
    POLICIES_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    WRITER_KEY,
)
from safestream.chat import actions
from safestream.chat.payloads import iso
from safestream.errors import Conflict, InvalidPayload, NotFound
from safestream.moderation.normalize import normalize
from safestream.moderation.policy import Policy
from safestream.moderation.terms import TermRule
from safestream.storage import messages as message_store
from safestream.storage.models import Message

log = logging.getLogger(__name__)

DECISIONS = ("approve", "approve_permit", "deny")
MAX_TERMS = 20
MAX_TERM_LENGTH = 64


def review_item(row: Message) -> dict[str, Any]:
    return {"id": row.seq, "stream": row.stream, "user": row.username, "message": row.text,
            "score": round(row.score, 4), "categories": row.categories, "ts": iso(row.created_at)}


async def pending(app: web.Application, *, stream: str | None, limit: int = 100) -> list[dict[str, Any]]:
    await app[WRITER_KEY].flush_all()  # held rows may still be in the write-behind buffer
    return [review_item(row) for row in await message_store.pending_review(app[SESSIONS_KEY], stream=stream,
                                                                            limit=limit)]


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
    permit = check_terms(terms) if terms else list(dict.fromkeys(m.term for m in policy.terms.find(
        normalize(row.text))))
    if not permit:
        return [], None
    try:
        return permit, policy.with_permitted(*permit)
    except ValueError as exc:  # e.g. a term whose mode conflicts with a listed one
        raise InvalidPayload(f"cannot permit {', '.join(permit)}: {exc}", code="invalid_terms") from exc


async def decide(app: web.Application, *, actor: str, stream: str, seq: int, decision: str,
                 terms: list[str] | None = None) -> dict[str, Any]:
    if decision not in DECISIONS:
        raise InvalidPayload("decision must be approve, approve_permit or deny")
    sessions = app[SESSIONS_KEY]
    await app[WRITER_KEY].flush_all()
    row = await message_store.get_message(sessions, stream=stream, seq=seq)
    if row is None or row.review is None:
        raise NotFound(f"no held message {seq} in {stream!r}", code="no_such_message")
    if row.review != "pending":
        raise Conflict(f"message {seq} was already {row.review}", code="already_reviewed")
    policies = app[POLICIES_KEY]
    permit: list[str] = []
    permitted_policy: Policy | None = None
    if decision == "approve_permit":
        permit, permitted_policy = _permitting(policies.get(stream), row, terms)
    outcome = "denied" if decision == "deny" else "approved"
    now = datetime.now(UTC)
    if not await message_store.claim_review(sessions, stream=stream, seq=seq, review=outcome, actor=actor, at=now):
        raise Conflict(f"message {seq} was already reviewed", code="already_reviewed")
    result: dict[str, Any] = {"ok": True, "id": seq, "decision": decision}
    try:
        if decision == "approve_permit":
            if permitted_policy is not None:
                await policies.update(stream, permitted_policy, actor=actor)
            result["permitted"] = permit
        if decision != "deny":
            ack = await app[PIPELINE_KEY].publish_approved(row)
            await message_store.record_publication(sessions, stream=stream, seq=seq, action=ack["action"],
                                                   shown=ack["message"], toxic=ack["toxic"])
            result["published_id"] = ack["id"]
            result["action"] = ack["action"]
    except Exception:
        # Nothing was published: the message goes back to the queue rather than vanish.
        await message_store.unclaim_review(sessions, stream=stream, seq=seq)
        raise
    await app[WRITER_KEY].log([actions.review_line(stream, [seq], outcome)])  # for import-jsonl
    await _announce(app, row, outcome=outcome, actor=actor, at=now, result=result)
    await actions.record(app, actor=actor, action=f"review_{decision}", target=row.username, stream=stream,
                         details={k: v for k, v in result.items() if k != "ok"})
    return result


async def _announce(app: web.Application, row: Message, *, outcome: str, actor: str, at: datetime,
                    result: dict[str, Any]) -> None:
    """The sender learns the outcome; the consoles update the queue and the feed row."""
    payload: dict[str, Any] = {"stream": row.stream, "id": row.seq, "decision": outcome, "ts": iso(at)}
    if "action" in result:
        payload["action"] = result["action"]
    await app[BROADCASTER_KEY].to_user(row.username, "review_result", payload)
    console = app.get(CONSOLE_KEY)
    if console is not None:
        fresh = await message_store.get_message(app[SESSIONS_KEY], stream=row.stream, seq=row.seq)
        await console.review_decided(row.stream, row.seq, fresh)


async def expire_held(app: web.Application, *, max_age_secs: float) -> int:
    """Held messages nobody reviewed in time are not published; the sender and the audit log are told."""
    sessions = app[SESSIONS_KEY]
    await app[WRITER_KEY].flush_all()
    now = datetime.now(UTC)
    expired = 0
    for row in await message_store.pending_before(sessions, before=now - timedelta(seconds=max_age_secs)):
        if not await message_store.claim_review(sessions, stream=row.stream, seq=row.seq, review="expired",
                                                actor=actions.AUTOMOD, at=now):
            continue  # a moderator decided it meanwhile
        expired += 1
        await _announce(app, row, outcome="expired", actor=actions.AUTOMOD, at=now, result={})
        await actions.record(app, actor=actions.AUTOMOD, action="review_expired", target=row.username,
                             stream=row.stream, details={"id": row.seq, "age_s": round(max_age_secs)})
    return expired


async def expiry_loop(app: web.Application) -> None:
    """Runs while the app does, when ``SAFESTREAM_REVIEW_EXPIRY_SECS`` is set."""
    max_age = app[SETTINGS_KEY].review_expiry_secs
    if max_age <= 0:
        return
    interval = min(max(max_age / 4, 0.5), 60.0)
    while True:
        await asyncio.sleep(interval)
        try:
            await expire_held(app, max_age_secs=max_age)
        except Exception:  # noqa: BLE001 - one failed sweep (a database blip) must not end the loop
            log.exception("expiring held messages failed")
