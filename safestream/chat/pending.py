"""One message on the send path: waiting for moderation, its verdict merged with a rule's, and what it leaves.

``Pending`` is what ``ChatPipeline.submit`` queues; ``merge_hit`` combines the
model's decision with a chat-mode rule's; ``message_record`` is the row and
JSONL lines the write-behind writer stores for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from safestream.moderation.engine import Assessment
from safestream.moderation.modes.crowd import CrowdPost
from safestream.moderation.modes.rule_io import Hit
from safestream.moderation.policy import SEVERITY, VISIBLE, Decision
from safestream.storage.models import Message
from safestream.storage.writer import Record


@dataclass(slots=True)
class Pending:
    stream: str
    username: str
    text: str
    received: datetime
    #: A chat-mode rule's verdict (hold, mask, ...), merged with the model's in ``_decide``.
    hit: Hit | None = None
    #: What the cluster's unique-chat counts are asked about it in the batch (None: nothing to ask).
    post: CrowdPost | None = None


def merge_hit(decision: Decision, hit: Hit | None, text: str) -> Decision:
    """The more severe of the model's verdict and a chat-mode rule's (the model wins ties).

    ``toxic`` stays the model's: shouting or a link is spam, not toxicity (viewers
    see no "flagged" tag for it and the toxic share in the metrics is unchanged).
    """
    if hit is None or SEVERITY[hit.action] <= SEVERITY[decision.action]:
        return decision
    shown = (hit.shown or decision.shown or text) if hit.action == "mask" else decision.shown
    return Decision(
        hit.action,
        decision.score,
        decision.toxic,
        decision.category,
        shown,
        decision.terms,
        decided_by=f"rule:{hit.rule}",
        rule=hit.rule,
    )


def message_record(
    item: Pending, assessment: Assessment, decision: Decision, seq: int, shown: str, payload: dict[str, Any]
) -> Record:
    categories = {k: round(v, 4) for k, v in assessment.scores.items()}
    row = {
        "stream": item.stream,
        "seq": seq,
        "username": item.username,
        "text": item.text,
        "shown_text": shown,
        "action": decision.action,
        "toxic": decision.toxic,
        "score": decision.score,
        "categories": categories,
        "created_at": item.received,
        "review": "pending" if decision.action == "hold" else None,
    }
    moderation_line = {
        "type": "moderation",
        "id": seq,
        "stream": item.stream,
        "user": item.username,
        "message": item.text,
        "shown": shown,
        "action": decision.action,
        "toxic": decision.toxic,
        "score": payload["score"],
        "categories": categories,
        "terms": list(decision.terms),
        "rule": decision.rule,
        "failed": assessment.failed,
        "ts": payload["ts"],
    }
    lines = (payload, moderation_line) if decision.action in VISIBLE else (moderation_line,)
    return Record(Message, row, lines)
