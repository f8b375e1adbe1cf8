"""Live console updates: server-rendered fragments pushed over Socket.IO.

Every fragment is rendered once per stream per update and emitted to the
stream's console room (``console:<stream>``), however many moderators watch.
New messages arrive per moderation batch (one fragment per batch); metrics
and charts are refreshed on a timer and only sent when they changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

import jinja2

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.metrics import Metrics
from safestream.chat.payloads import iso
from safestream.chat.rooms import Rooms
from safestream.console import charts
from safestream.storage.models import Message

log = logging.getLogger(__name__)

REFRESH_SECS = 2.0
#: Feed rows struck per ``removed`` fragment.
STRIKE_CHUNK = 200


class ConsoleLive:
    def __init__(
        self,
        *,
        jinja: jinja2.Environment,
        broadcaster: Broadcaster,
        metrics: Metrics,
        rooms: Rooms,
        refresh_secs: float = REFRESH_SECS,
    ) -> None:
        self._jinja = jinja
        self._broadcaster = broadcaster
        self._metrics = metrics
        self._rooms = rooms
        self.refresh_secs = refresh_secs
        self.watchers: Counter[str] = Counter()  # stream -> console sockets here
        self._last: dict[tuple[str, str], str] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_loop(), name="console-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def watch(self, stream: str) -> None:
        self.watchers[stream] += 1
        self._last = {k: v for k, v in self._last.items() if k[0] != stream}  # newcomers get a fresh push

    def unwatch(self, stream: str) -> None:
        self.watchers[stream] -= 1
        if self.watchers[stream] <= 0:
            del self.watchers[stream]

    async def published(self, rows: list[dict[str, Any]]) -> None:
        """A moderation batch's messages (every action, with scores) for the feeds and review queues."""
        by_stream: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row["stream"] in self.watchers:
                by_stream.setdefault(row["stream"], []).append(row)
        for stream, items in by_stream.items():
            newest_first = list(reversed(items))
            await self._push(
                stream,
                "#feed-rows",
                "afterbegin",
                self._render("console/_feed_rows.html", {"rows": newest_first, "stream": stream}),
            )
            held = [r for r in items if r["action"] == "hold"]
            if held:
                await self._push(
                    stream,
                    "#review-rows",
                    "beforeend",
                    self._render("console/_review_rows.html", {"rows": held, "stream": stream}),
                )

    async def review_decided(self, stream: str, seq: int, row: Message | None = None) -> None:
        """The item leaves every queue; the feed row shows the outcome, who decided and when."""
        await self._push(stream, f"#review-{seq}", "delete", "")
        if row is not None:
            html = self._render("console/_feed_rows.html", {"rows": [feed_row(row)], "stream": stream})
            await self._push(stream, f"#msg-{seq}", "outerHTML", html)

    async def removed(self, stream: str, ids: list[int]) -> None:
        """Removed messages are struck through in every open feed (a bulk removal: one fragment per
        ``STRIKE_CHUNK`` ids, each a selector list the client applies with ``querySelectorAll``)."""
        for start in range(0, len(ids), STRIKE_CHUNK):
            target = ",".join(f"#msg-{seq}" for seq in ids[start : start + STRIKE_CHUNK])
            await self._push(stream, target, "strike", "")

    async def audit(self, stream: str | None, entry: dict[str, Any]) -> None:
        """A stream's entry goes to that stream's consoles only; a site-wide one (with its
        reason) only to the consoles of global moderators and admins, never to streamers."""
        html = self._render("console/_audit_rows.html", {"rows": [entry]})
        fragment = {"target": "#audit-rows", "swap": "afterbegin", "html": html}
        if stream is None:
            await self._broadcaster.console_staff(fragment)
        else:  # to the stream's console room, wherever its consoles are connected (none: no one hears it)
            await self._broadcaster.console(stream, fragment)

    async def refresh(self, stream: str) -> None:
        for target, template in (("#metrics", "console/_metrics.html"), ("#charts", "console/_charts.html")):
            html = self._render(template, await panel_context(self._metrics, self._rooms, stream))
            if self._last.get((stream, target)) != html:
                self._last[(stream, target)] = html
                await self._push(stream, target, "outerHTML", html)

    async def _push(self, stream: str, target: str, swap: str, html: str) -> None:
        await self._broadcaster.console(stream, {"target": target, "swap": swap, "html": html})

    def _render(self, name: str, context: dict[str, Any]) -> str:
        return render_text(self._jinja, name, context)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_secs)
            for stream in list(self.watchers):
                try:
                    await self.refresh(stream)
                except Exception:  # one bad render must not stop the loop
                    log.exception("console refresh failed for %s", stream)


def feed_row(row: Message) -> dict[str, Any]:
    return {
        "id": row.seq,
        "stream": row.stream,
        "user": row.username,
        "text": row.text,
        "message": row.shown_text or row.text,
        "action": row.action,
        "toxic": row.toxic,
        "score": round(row.score, 4),
        "categories": row.categories,
        "ts": iso(row.created_at),
        "review": row.review,
        "reviewed_by": row.reviewed_by,
        "reviewed_at": iso(row.reviewed_at) if row.reviewed_at else None,
    }


async def panel_context(metrics: Metrics, rooms: Rooms, stream: str) -> dict[str, Any]:
    series = metrics.series(stream)
    rolling = metrics.rolling_toxicity(stream)
    room = rooms.get(stream)
    return {
        "stream": stream,
        "m": await metrics.snapshot(stream),
        "overall": await metrics.snapshot(None),
        "live": bool(room and room.live),
        "series": series,
        "tox_segments": charts.toxicity_segments(rolling),
        "tox_recent": charts.latest(rolling),
        "volume": charts.volume_bars(series),
        "gifters": charts.gifter_bars(metrics.top_gifters(stream)),
        "W": charts.WIDTH,
        "H": charts.HEIGHT,
    }


def render_text(jinja: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """One fragment from its template (a module function: the console tests count the renders)."""
    return jinja.get_template(name).render(**context)
