"""The one module that sends events to clients.

Every outbound event kind goes through a method here, so the shapes stay in
one place and scale-out (the Redis manager) or the console's fragments hook in
at one point. Broadcasts never pass ``callback=``: python-socketio would then
encode the packet once per recipient.

Chat frames go out through a flush window per stream: frames, not messages,
cost CPU per recipient, so a busy stream gathers what arrives within its
window into one ``chat_batch``, while a quiet stream (no chat frame in the
last window) sends at once. A stream's window is what keeps its frames within
``frame_budget`` frame-recipients a second (its sockets over the budget),
capped at ``flush_window``: a 200-viewer room at 50 msg/s sends nearly every
message at once, a 1,000-viewer room gathers for the whole window. Messages
per frame thus grow with the rate and the room, and no message waits longer
than the window. Events that must not overtake the chat they refer to
(removals, stream status, modes, shutdown) flush the stream's window first.

Room events (chat, gifts, presence, modes, removals, console fragments) go out
through one ``Fanout``: the direct one in a single process, so they share its
per-recipient cost and its order; events to every socket, to one user or with
``ignore_queue`` stay on python-socketio.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import socketio

from safestream.chat.fanout import Fanout, SocketioFanout
from safestream.chat.rooms import room_name
from safestream.sio.connections import Connections

log = logging.getLogger(__name__)


def user_room(username: str) -> str:
    return f"user:{username}"


def console_room(stream: str) -> str:
    return f"console:{stream}"


#: The consoles of global moderators and admins: the only ones that see site-wide actions.
STAFF_CONSOLE_ROOM = "console:*"


class _Window:
    """One stream's chat waiting for its flush, and when its last chat frame went out."""

    __slots__ = ("last", "pending", "timer")

    def __init__(self) -> None:
        self.last = float("-inf")
        self.pending: list[dict[str, Any]] = []
        self.timer: asyncio.TimerHandle | None = None


class Broadcaster:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        connections: Connections,
        *,
        viewer_count: Callable[[str], Awaitable[int]],
        presence_interval: float = 1.0,
        flush_window: float = 0.0,
        frame_budget: float = 0.0,
        fanout: Fanout | None = None,
    ) -> None:
        self._sio = sio
        self._connections = connections
        self._viewer_count = viewer_count
        self.presence_interval = presence_interval
        #: Seconds a busy stream's chat may wait to share a frame (0: every call is its own emit).
        self.flush_window = flush_window
        #: Frame-recipients a second a stream may cost before its chat waits (0: always the whole window).
        self.frame_budget = frame_budget
        self._fanout = fanout if fanout is not None else SocketioFanout(sio)
        self._presence_due: set[str] = set()
        self._presence_last: dict[str, float] = {}
        self._windows: dict[str, _Window] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def chat(self, stream: str, payloads: Sequence[dict[str, Any]]) -> None:
        """Now when the stream was quiet for a window; otherwise with what else arrives within one."""
        if not payloads:
            return
        if self.flush_window <= 0:
            await self._emit_chat(stream, list(payloads))
            return
        loop = asyncio.get_running_loop()
        window = self._windows.get(stream)
        if window is None:
            window = self._windows[stream] = _Window()
        now = loop.time()
        wait = self.window_for(stream)
        if window.timer is None and now - window.last >= wait:
            window.last = now
            await self._emit_chat(stream, list(payloads))
            return
        window.pending.extend(payloads)
        if window.timer is None:
            # The window opens with its first waiting message: none waits longer than the window.
            window.timer = loop.call_later(wait, self._due, stream)

    def window_for(self, stream: str) -> float:
        """Seconds between this stream's chat frames: its share of the frame budget, at most ``flush_window``."""
        if self.frame_budget <= 0:
            return self.flush_window
        return min(self.flush_window, self._fanout.recipients(room_name(stream)) / self.frame_budget)

    def _due(self, stream: str) -> None:
        task = asyncio.get_running_loop().create_task(self.flush(stream))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self, stream: str) -> None:
        """Sends the stream's waiting chat now (in arrival order) as one frame."""
        window = self._windows.get(stream)
        if window is None:
            return
        if window.timer is not None:
            window.timer.cancel()
            window.timer = None
        payloads, window.pending = window.pending, []
        if not payloads:
            # Quiet since the last frame: forget the stream, so ended streams leave nothing behind.
            if asyncio.get_running_loop().time() - window.last >= self.flush_window:
                del self._windows[stream]
            return
        window.last = asyncio.get_running_loop().time()
        await self._emit_chat(stream, payloads)

    async def flush_all(self) -> None:
        for stream in list(self._windows):
            await self.flush(stream)

    async def _emit_chat(self, stream: str, payloads: list[dict[str, Any]]) -> None:
        """One ``chat`` for a lone message; one ``chat_batch`` for several."""
        if len(payloads) == 1:
            await self._fanout.emit("chat", payloads[0], room_name(stream))
        else:
            await self._fanout.emit("chat_batch", payloads, room_name(stream))

    async def gift(self, payload: dict[str, Any]) -> None:
        await self._fanout.emit("gift", payload, room_name(payload["stream"]))

    def presence_changed(self, stream: str) -> None:
        """Sends ``presence`` at most once per interval per stream.

        A crowd joining at once would otherwise cost viewers-squared frames; the
        first change in a quiet room still goes out immediately.
        """
        if stream in self._presence_due:
            return
        self._presence_due.add(stream)
        loop = asyncio.get_running_loop()
        wait = self._presence_last.get(stream, -1e9) + self.presence_interval - loop.time()
        task = loop.create_task(self._send_presence(stream, max(wait, 0.0)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_presence(self, stream: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        self._presence_due.discard(stream)
        self._presence_last[stream] = asyncio.get_running_loop().time()
        viewers = await self._viewer_count(stream)  # counted when sent: the latest figure
        await self._fanout.emit("presence", {"stream": stream, "viewers": viewers}, room_name(stream))

    async def close(self) -> None:
        """Sends what still waits in a window (those messages are acked), then stops the timers."""
        await self.flush_all()
        for task in list(self._tasks):
            task.cancel()

    async def stream_status(self, stream: str, live: bool, *, local: bool = False) -> None:
        """``local``: this process's sockets only (each process announces an end itself)."""
        await self.flush(stream)
        await self._sio.emit(
            "stream_status", {"stream": stream, "live": live}, room=room_name(stream), ignore_queue=local
        )

    async def stream_update(self, payload: dict[str, Any]) -> None:
        """``{stream, live, title, owner}`` to every socket: stream lists update without polling.

        Streams open, end and get renamed rarely next to chat, so one emit to all
        is cheap; through the Redis manager it reaches every process's sockets.
        """
        await self._sio.emit("stream_update", payload)

    async def server_shutdown(self, retry_after: float = 1.0) -> None:
        """Every socket of this process: the server is going down, reconnect (to it or another) now."""
        await self.flush_all()
        await self._sio.emit("server_shutdown", {"retry_after": retry_after})

    async def modes(self, stream: str, payload: dict[str, Any]) -> None:
        """``modes``: the stream's chat modes changed (shield, emote-only, gates...)."""
        await self.flush(stream)
        await self._fanout.emit("modes", payload, room_name(stream))

    async def message_removed(self, stream: str, ids: Sequence[int]) -> None:
        await self.flush(stream)  # a removal must not arrive before the message it removes
        await self._fanout.emit("message_removed", {"stream": stream, "ids": list(ids)}, room_name(stream))

    async def console(self, stream: str, fragment: dict[str, Any]) -> None:
        """A server-rendered HTML fragment for the stream's console room."""
        await self._fanout.emit("console_fragment", fragment, console_room(stream))

    async def console_staff(self, fragment: dict[str, Any]) -> None:
        """A fragment for every console of a global moderator or admin (site-wide actions)."""
        await self._fanout.emit("console_fragment", fragment, STAFF_CONSOLE_ROOM)

    async def to_user(self, username: str, event: str, payload: dict[str, Any]) -> None:
        """``kicked`` / ``muted``: to every socket of one user, and no one else."""
        await self._sio.emit(event, payload, room=user_room(username))

    async def kicked(self, sid: str, payload: dict[str, Any]) -> None:
        """``kicked`` to one socket (``chat.membership`` then takes it out)."""
        await self._sio.emit("kicked", payload, to=sid)
