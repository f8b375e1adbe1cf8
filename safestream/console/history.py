"""Searching and exporting a stream's stored history (the console's feed filters, CSV and JSONL).

The filters come from the query string; anything unparseable is ignored rather
than refused, as in a search box. Times are UTC (``2026-12-01T20:30``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from safestream.chat.payloads import iso
from safestream.moderation.contract import LABELS
from safestream.moderation.policy import ACTIONS
from safestream.storage.messages import Filters
from safestream.storage.models import Message

EXPORT_LIMIT = 100_000
EXPORT_FIELDS = ("id", "ts", "user", "text", "shown", "action", "toxic", "score", "review", "reviewed_by", *LABELS)


def _time(raw: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def parse_filters(query: Mapping[str, str], *, category_min: float) -> tuple[Filters, dict[str, Any]]:
    """(storage filters, the values the form shows)."""
    action = query.get("action") if query.get("action") in ACTIONS else None
    category = query.get("category") if query.get("category") in LABELS else None
    shown: dict[str, Any] = {
        "user": query.get("user", "")[:50],
        "toxic": query.get("toxic") == "1",
        "action": action or "",
        "q": query.get("q", "")[:100],
        "category": category or "",
        "from": query.get("from", "")[:32],
        "to": query.get("to", "")[:32],
    }
    until = _time(shown["to"])
    if until is not None and len(shown["to"].strip()) <= 16:  # "...T20:30": the whole minute
        until = until.replace(second=59, microsecond=999999)
    filters = Filters(
        user=shown["user"] or None,
        toxic_only=shown["toxic"],
        action=action,
        text=shown["q"] or None,
        category=category,
        category_min=category_min,
        since=_time(shown["from"]),
        until=until,
    )
    return filters, shown


def query_string(shown: Mapping[str, Any]) -> str:
    """The filters as a query string (pager and export links keep them)."""
    pairs = [(k, v) for k, v in shown.items() if v and k != "toxic"]
    if shown.get("toxic"):
        pairs.append(("toxic", "1"))
    return urlencode(pairs)


def is_filtered(shown: Mapping[str, Any]) -> bool:
    return any(shown.get(k) for k in ("user", "toxic", "action", "q", "category", "from", "to"))


def export_record(row: Message) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": row.seq,
        "ts": iso(row.created_at),
        "user": row.username,
        "text": row.text,
        "shown": row.shown_text or row.text,
        "action": row.action,
        "toxic": row.toxic,
        "score": round(row.score, 4),
        "review": row.review or "",
        "reviewed_by": row.reviewed_by or "",
    }
    for label in LABELS:
        record[label] = round(float(row.categories.get(label, 0.0)), 4)
    return record


def csv_chunk(rows: list[Message], *, header: bool) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
    if header:
        writer.writeheader()
    for row in rows:
        record = export_record(row)
        # A cell starting with = + - @ is a formula in spreadsheets: keep user text as text.
        for key in ("user", "text", "shown"):
            if str(record[key])[:1] in ("=", "+", "-", "@"):
                record[key] = "'" + str(record[key])
        writer.writerow(record)
    return out.getvalue().encode()


def jsonl_chunk(rows: list[Message]) -> bytes:
    return b"".join(orjson.dumps(export_record(row)) + b"\n" for row in rows)
