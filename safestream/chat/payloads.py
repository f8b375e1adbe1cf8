"""The server-to-client event shapes of PROTOCOL.md, built in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from safestream.errors import error_ack

__all__ = ["chat_payload", "error_ack", "gift_payload", "iso"]


def iso(ts: datetime) -> str:
    """UTC ISO-8601 with a Z suffix and millisecond precision."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def chat_payload(
    *, id: int, stream: str, user: str, message: str, toxic: bool, score: float, ts: datetime
) -> dict[str, Any]:
    return {
        "type": "chat",
        "id": id,
        "stream": stream,
        "user": user,
        "message": message,
        "toxic": toxic,
        "score": round(score, 4),
        "ts": iso(ts),
    }


def gift_payload(*, id: int, stream: str, sender: str, gift_id: str | int, amount: int, ts: datetime) -> dict[str, Any]:
    return {
        "type": "gift",
        "id": id,
        "stream": stream,
        "from": sender,
        "gift_id": gift_id,
        "amount": amount,
        "ts": iso(ts),
    }
