"""``safestream import-jsonl``: rebuild the database's messages and gifts from JSONL logs.

The logs hold every message's moderation record (original text, verdict,
scores) and every gift, so after losing the database (or the rows of one
flush window after a hard kill) they can be replayed. Rows are keyed by
(stream, id): a record already present is skipped, so importing twice adds
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select, tuple_

from safestream.errors import InvalidPayload
from safestream.gifts import catalogue
from safestream.storage.db import SessionMaker
from safestream.storage.models import GiftEvent, Message

log = logging.getLogger(__name__)
BATCH = 1000


def log_files(path: Path) -> list[Path]:
    """A file, or every ``chat_*.jsonl[.N]`` in a directory, oldest rotation first."""
    if path.is_file():
        return [path]

    def order(p: Path) -> tuple[str, int]:
        base, _, suffix = p.name.partition(".jsonl")
        return base, -int(suffix.lstrip(".") or 0)

    return sorted(path.glob("chat_*.jsonl*"), key=order)


def records(files: list[Path]) -> Iterator[dict[str, Any]]:
    for file in files:
        with file.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    log.warning("%s:%d is not JSON (a line cut by a crash?); skipped", file, number)
                    continue
                if isinstance(record, dict):
                    yield record


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _gift_id(raw: Any) -> str:
    """The catalogue name of a logged gift (the log echoes integer ids as clients sent them)."""
    try:
        return catalogue.lookup(raw).id
    except InvalidPayload:
        return str(raw)[:32]


def to_row(record: dict[str, Any]) -> tuple[type[Message] | type[GiftEvent], dict[str, Any]] | None:
    kind = record.get("type")
    try:
        if kind == "moderation":
            return Message, {
                "stream": record["stream"], "seq": int(record["id"]), "username": record["user"],
                "text": record["message"], "shown_text": record.get("shown", record["message"]),
                "action": record["action"], "toxic": bool(record["toxic"]), "score": float(record["score"]),
                "categories": record.get("categories") or {}, "created_at": _ts(record["ts"]),
                "review": "pending" if record["action"] == "hold" else None}
        if kind == "gift":
            return GiftEvent, {"stream": record["stream"], "seq": int(record["id"]), "sender": record["from"],
                               "gift_id": _gift_id(record["gift_id"]), "amount": int(record["amount"]),
                               "created_at": _ts(record["ts"])}
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("skipping a malformed %s record: %s", kind, exc)
    return None


async def import_logs(sessions: SessionMaker, path: Path) -> dict[str, int]:
    counts = {"read": 0, "added": 0, "present": 0}
    pending: dict[type[Any], list[dict[str, Any]]] = {Message: [], GiftEvent: []}
    for record in records(log_files(path)):
        converted = to_row(record)
        if converted is None:
            continue
        counts["read"] += 1
        table, row = converted
        pending[table].append(row)
        if len(pending[table]) >= BATCH:
            await _insert_new(sessions, table, pending[table], counts)
            pending[table] = []
    for table, rows in pending.items():
        if rows:
            await _insert_new(sessions, table, rows, counts)
    return counts


async def _insert_new(sessions: SessionMaker, table: type[Any], rows: list[dict[str, Any]],
                      counts: dict[str, int]) -> None:
    keys = {(r["stream"], r["seq"]) for r in rows}
    async with sessions() as session:
        existing = set((await session.execute(
            select(table.stream, table.seq).where(tuple_(table.stream, table.seq).in_(list(keys))))).all())
        fresh: dict[tuple[str, int], dict[str, Any]] = {}
        for row in rows:
            key = (row["stream"], row["seq"])
            if key not in existing:
                fresh[key] = row  # a line logged twice counts once
        if fresh:
            session.add_all([table(**row) for row in fresh.values()])
            await session.commit()
    counts["added"] += len(fresh)
    counts["present"] += len(rows) - len(fresh)
