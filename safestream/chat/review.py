"""The review queue: held messages wait here for a moderator.

Approving publishes the message through the tail of the normal send path
(new id, broadcast, history, persistence); "approve and permit" also adds the
message's listed terms to the stream's permitted terms. The pending -> decided
transition is a conditional update, so two moderators cannot both approve.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from safestream.app_keys import (
    CONSOLE_KEY,
    PIPELINE_KEY,
    POLICIES_KEY,
    SESSIONS_KEY,
    WRITER_KEY,
)
from safestream.chat import actions
from safestream.chat.payloads import iso
from safestream.chat.pipeline import Pending
from safestream.errors import Conflict, NotFound
from safestream.moderation.engine import Assessment
from safestream.moderation.normalize import normalize
from safestream.moderation.policy import Decision
from safestream.storage import messages as message_store
from safestream.storage.models import Message

DECISIONS = ("approve", "approve_permit", "deny")


def review_item(row: Message) -> dict[str, Any]:
    return {"id": row.seq, "stream": row.stream, "user": row.username, "message": row.text,
            "score": round(row.score, 4), "categories": row.categories, "ts": iso(row.created_at)}


async def pending(app: web.Application, *, stream: str | None, limit: int = 100) -> list[dict[str, Any]]:
    await app[WRITER_KEY].flush_all()  # held rows may still be in the write-behind buffer
    return [review_item(row) for row in await message_store.pending_review(app[SESSIONS_KEY], stream=stream,
                                                                            limit=limit)]


async def decide(app: web.Application, *, actor: str, stream: str, seq: int, decision: str,
                 terms: list[str] | None = None) -> dict[str, Any]:
    sessions = app[SESSIONS_KEY]
    await app[WRITER_KEY].flush_all()
    row = await message_store.get_message(sessions, stream=stream, seq=seq)
    if row is None or row.review is None:
        raise NotFound(f"no held message {seq} in {stream!r}", code="no_such_message")
    outcome = "denied" if decision == "deny" else "approved"
    if not await message_store.claim_review(sessions, stream=stream, seq=seq, review=outcome):
        raise Conflict(f"message {seq} was already {row.review}", code="already_reviewed")
    await app[WRITER_KEY].log([actions.review_line(stream, [seq], outcome)])  # for import-jsonl
    result: dict[str, Any] = {"ok": True, "id": seq, "decision": decision}
    if decision == "approve_permit":
        policies = app[POLICIES_KEY]
        policy = policies.get(stream)
        permit = terms or list(dict.fromkeys(m.term for m in policy.terms.find(normalize(row.text))))
        if permit:
            await policies.update(stream, await policies.with_permitted(stream, *permit), actor=actor)
        result["permitted"] = permit
    if decision != "deny":
        result["published_id"] = await _publish(app, row)
    await actions.record(app, actor=actor, action=f"review_{decision}", target=row.username, stream=stream,
                         details={k: v for k, v in result.items() if k != "ok"})
    console = app.get(CONSOLE_KEY)
    if console is not None:
        await console.review_decided(stream, seq)
    return result


async def _publish(app: web.Application, row: Message) -> int:
    policy = app[POLICIES_KEY].get(row.stream)
    toxic = row.score >= policy.flag_threshold
    item = Pending(row.stream, row.username, row.text, datetime.now(UTC))
    assessment = Assessment(normalize(row.text), dict(row.categories))
    verdict = Decision("flag" if toxic else "allow", row.score, toxic, shown=row.text)
    acks = await app[PIPELINE_KEY].publish([item], [assessment], [verdict])
    return int(acks[0]["id"])
