"""Rebuilding messages and gifts from the JSONL logs: ``import-jsonl`` and start-up recovery.

The logs hold every message's moderation record (original text, verdict,
scores), every review change and every gift, written before the send path
acks (the write-ahead record). ``import_logs`` replays whole logs after losing
the database; ``recover`` runs at every start-up and replays only the tail
the database lacks (the rows a SIGKILL left in the write-behind buffer). Rows
are keyed by (stream, id): a record already present is skipped, and review
changes are re-applied in log order, so both are idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select, tuple_, update
from sqlmodel import col

from safestream.errors import InvalidPayload
from safestream.gifts import catalogue
from safestream.storage.db import SessionMaker
from safestream.storage.models import GiftEvent, Message

log = logging.getLogger(__name__)
BATCH = 1000


def log_files(path: Path, *, recursive: bool = False) -> list[Path]:
    """A file, or every ``chat_*.jsonl[.N]`` in a directory (and with ``recursive`` its
    subdirectories: ``serve --workers`` gives each worker one), oldest rotation first."""
    if path.is_file():
        return [path]

    def order(p: Path) -> tuple[str, int]:
        base, _, suffix = p.name.partition(".jsonl")
        return base, -int(suffix.lstrip(".") or 0)

    return sorted((path.rglob if recursive else path.glob)("chat_*.jsonl*"), key=order)


def records(files: list[Path]) -> Iterator[dict[str, Any]]:
    for file in files:
        with file.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if (record := _parse(line, file, number)) is not None:
                    yield record


def records_newest_first(files: list[Path]) -> Iterator[dict[str, Any]]:
    for file in reversed(files):
        lines = file.read_bytes().split(b"\n")  # a file is at most JSONL_MAX_BYTES
        for number in range(len(lines), 0, -1):
            if (record := _parse(lines[number - 1], file, number)) is not None:
                yield record


def _parse(line: bytes, file: Path, number: int) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        log.warning("%s:%d is not JSON (a line cut by a crash?); skipped", file, number)
        return None
    return record if isinstance(record, dict) else None


def review_change(record: dict[str, Any]) -> tuple[str, list[int], str] | None:
    """A ``{"type": "review", "stream", "ids", "review"}`` line as (stream, ids, review)."""
    try:
        ids = [int(i) for i in record["ids"]]
        return str(record["stream"]), ids, str(record["review"])
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("skipping a malformed review record: %s", exc)
        return None


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
                "stream": record["stream"],
                "seq": int(record["id"]),
                "username": record["user"],
                "text": record["message"],
                "shown_text": record.get("shown", record["message"]),
                "action": record["action"],
                "toxic": bool(record["toxic"]),
                "score": float(record["score"]),
                "categories": record.get("categories") or {},
                "created_at": _ts(record["ts"]),
                "review": "pending" if record["action"] == "hold" else None,
            }
        if kind == "gift":
            return GiftEvent, {
                "stream": record["stream"],
                "seq": int(record["id"]),
                "sender": record["from"],
                "gift_id": _gift_id(record["gift_id"]),
                "amount": int(record["amount"]),
                "created_at": _ts(record["ts"]),
            }
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("skipping a malformed %s record: %s", kind, exc)
    return None


async def import_logs(sessions: SessionMaker, path: Path) -> dict[str, int]:
    counts = {"read": 0, "added": 0, "present": 0}
    pending: dict[type[Any], list[dict[str, Any]]] = {Message: [], GiftEvent: []}
    reviews: list[tuple[str, list[int], str]] = []
    for record in records(log_files(path, recursive=True)):
        if record.get("type") == "review":
            if (change := review_change(record)) is not None:
                reviews.append(change)
            continue
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
    await _apply_reviews(sessions, reviews)
    return counts


async def recover(sessions: SessionMaker, directory: Path) -> dict[str, int]:
    """Brings the database up to the log's tail; run at start-up, before ids are handed out.

    The database holds a prefix of the log (the writer flushes in log order), so the
    log is read backwards in chunks until one chunk is wholly stored; what is missing
    in the chunks read is inserted oldest first, then their review changes re-applied.
    """
    counts = {"read": 0, "added": 0, "present": 0}
    chunk: list[tuple[type[Any], dict[str, Any]]] = []
    missing: list[tuple[type[Any], dict[str, Any]]] = []
    reviews: list[tuple[str, list[int], str]] = []
    for record in records_newest_first(log_files(directory)) if directory.is_dir() else iter(()):  # noqa: ASYNC240 - one stat at start-up, before serving
        if record.get("type") == "review":
            if (change := review_change(record)) is not None:
                reviews.append(change)
            continue
        if (converted := to_row(record)) is None:
            continue
        chunk.append(converted)
        if len(chunk) >= BATCH:
            if not await _collect_missing(sessions, chunk, missing, counts):
                break
            chunk = []
    else:
        await _collect_missing(sessions, chunk, missing, counts)
    missing.reverse()
    for table in (Message, GiftEvent):
        rows = [row for t, row in missing if t is table]
        for start in range(0, len(rows), BATCH):
            await _insert_new(sessions, table, rows[start : start + BATCH], counts)
    counts["present"] = counts["read"] - counts["added"]
    reviews.reverse()
    await _apply_reviews(sessions, reviews)
    if counts["added"]:
        log.warning("restored %d records from the JSONL log that the database lacked (after a crash?)", counts["added"])
    return counts


async def _collect_missing(
    sessions: SessionMaker,
    chunk: list[tuple[type[Any], dict[str, Any]]],
    missing: list[tuple[type[Any], dict[str, Any]]],
    counts: dict[str, int],
) -> bool:
    """Adds the chunk's rows the database lacks (newest first); False when it lacked none."""
    before = len(missing)
    tables: tuple[type[Any], ...] = (Message, GiftEvent)
    for table in tables:
        keys = {(row["stream"], row["seq"]) for t, row in chunk if t is table}
        if not keys:
            continue
        async with sessions() as session:
            stored = set(
                (
                    await session.exec(  # type: ignore[call-overload]
                        select(table.stream, table.seq).where(tuple_(table.stream, table.seq).in_(list(keys)))
                    )
                ).all()
            )
        missing.extend((t, row) for t, row in chunk if t is table and (row["stream"], row["seq"]) not in stored)
    counts["read"] += len(chunk)
    counts["present"] += len(chunk)
    return len(missing) > before


async def _apply_reviews(sessions: SessionMaker, reviews: list[tuple[str, list[int], str]]) -> None:
    if not reviews:
        return
    async with sessions() as session:
        for stream, ids, review in reviews:
            await session.exec(
                update(Message).where(col(Message.stream) == stream, col(Message.seq).in_(ids)).values(review=review)
            )
        await session.commit()


async def _insert_new(
    sessions: SessionMaker, table: type[Any], rows: list[dict[str, Any]], counts: dict[str, int]
) -> None:
    keys = {(r["stream"], r["seq"]) for r in rows}
    async with sessions() as session:
        existing = set(
            (
                await session.exec(  # type: ignore[call-overload]
                    select(table.stream, table.seq).where(tuple_(table.stream, table.seq).in_(list(keys)))
                )
            ).all()
        )
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
