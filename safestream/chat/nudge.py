"""The pre-send nudge: how would this draft be treated, before it is sent?

It runs the same checks as the send path (``ChatPipeline.submit``'s rules
without recording anything, then the moderation engine and the stream's
policy) and answers the verdict with a sentence the viewer client shows under
the composer. A nudge is never queued, stored, broadcast or counted: it does
not use up slow mode, the rate limit or unique chat. It is limited per socket
(``SAFESTREAM_NUDGE_RATE_LIMIT`` per 10 s) because each one costs a model call.
"""

from __future__ import annotations

from typing import Any

from safestream.chat.pending import merge_hit
from safestream.chat.pipeline import ChatPipeline
from safestream.chat.ratelimit import SlidingWindowLimiter
from safestream.chat.text import clean_message
from safestream.errors import InvalidPayload, RateLimited
from safestream.moderation.engine import ModerationEngine
from safestream.settings import Settings
from safestream.sio.connections import Connection

WINDOW_SECS = 10.0

ADVICE = {
    "allow": "",
    "flag": "This may be marked as possibly offensive.",
    "mask": "Parts of this may be hidden.",
    "hold": "This may be held for a moderator before anyone sees it.",
    "block": "This may be hidden from everyone.",
}


class Nudger:
    def __init__(self, *, settings: Settings, pipeline: ChatPipeline, engine: ModerationEngine) -> None:
        self._settings = settings
        self._pipeline = pipeline
        self._engine = engine
        self.limiter = SlidingWindowLimiter(settings.nudges_per_window, WINDOW_SECS)

    async def nudge(self, conn: Connection, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InvalidPayload('nudge takes an object: {"message": "...", "stream"?: "..."}')
        if (retry := self.limiter.check(conn.sid)) is not None:
            raise RateLimited("too many checks; slow down", retry_after=retry)
        stream = self._pipeline.resolve_stream(conn, data.get("stream"))
        text = clean_message(data.get("message"), max_length=self._settings.max_message_length)
        policy = self._pipeline.policies.get(stream)
        modes, sender = self._pipeline.modes, self._pipeline.sender(conn, stream)
        hit = modes.check(stream, text, policy.modes, sender, commit=False)
        if hit is None or hit.action != "refuse":  # what other processes saw (unique chat through Redis)
            hit = await modes.shared_check(modes.shared_post(stream, text, policy.modes, sender)) or hit
        if hit is not None and hit.action == "refuse":
            return {"ok": True, "stream": stream, "action": "refuse", "code": hit.code, "advice": hit.message}
        [assessment] = await self._engine.assess([text])
        decision = merge_hit(
            policy.judge(text, assessment.normalized, assessment.scores, failed=assessment.failed), hit, text
        )
        answer: dict[str, Any] = {
            "ok": True,
            "stream": stream,
            "action": decision.action,
            "advice": ADVICE[decision.action],
        }
        if decision.rule:
            answer["rule"] = decision.rule
        return answer

    def forget(self, sid: str) -> None:
        self.limiter.forget(sid)
