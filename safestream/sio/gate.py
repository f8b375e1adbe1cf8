"""Admission of Engine.IO sessions before anyone has authenticated.

The socket caps (per IP, per user, per process) are checked at the Socket.IO
CONNECT, when the token is known. An Engine.IO session exists before that:
the handshake alone (a websocket upgrade or a polling GET) costs a socket, a
queue and a ping task, so without a bound one address could hold thousands of
sessions that never authenticate. This gate counts sessions that have no
authenticated namespace ("pending") per client address and in total, refuses
new ones past the bounds, and closes any session that stays pending longer
than the auth timeout (also one that left its namespace but kept the
transport open).

The auth timeout is the client's time to ask. Once its CONNECT is being
answered (``answering``), the wait is the server's: in a reconnect storm a
connect handler queues behind thousands of others, and closing a session
the server itself was slow to answer made its client retry, the retry cost
another handshake, and 10,000 clients collapsed to a third back within a
minute (load/README.md). An answer gets ``answer_timeout`` (longer than
socket.io-client's 20 s connect timeout, past which its client has left);
a refused connect gets the auth timeout again (``answered``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Closer = Callable[[str], Coroutine[Any, Any, None]]


@dataclass(slots=True)
class _Session:
    ip: str
    timer: asyncio.TimerHandle | None = None


class SessionGate:
    def __init__(
        self,
        *,
        max_pending_per_ip: int,
        max_pending: int,
        auth_timeout: float,
        close: Closer,
        answer_timeout: float = 30.0,
    ) -> None:
        self.max_pending_per_ip = max_pending_per_ip
        self.max_pending = max_pending
        self.auth_timeout = auth_timeout
        self.answer_timeout = max(answer_timeout, auth_timeout)
        self._close = close
        self._sessions: dict[str, _Session] = {}
        self._pending_by_ip: defaultdict[str, int] = defaultdict(int)
        self._pending = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.expired = 0
        self.closed = False

    def close(self) -> None:
        """Shutdown: no new sessions (clients go to the next server)."""
        self.closed = True

    def pending(self, ip: str | None = None) -> int:
        return self._pending if ip is None else self._pending_by_ip.get(ip, 0)

    def admit(self, eio_sid: str, ip: str) -> str | None:
        """Registers a new session as pending, or returns why it is refused."""
        if self.closed:
            return "shutting_down"
        if self._pending >= self.max_pending:
            return "server_full"
        if self._pending_by_ip.get(ip, 0) >= self.max_pending_per_ip:
            return "too_many_connections"
        self._sessions[eio_sid] = session = _Session(ip)
        self._arm(eio_sid, session)
        return None

    def authenticated(self, eio_sid: str) -> None:
        session = self._sessions.get(eio_sid)
        if session is not None:
            self._disarm(session)

    def answering(self, eio_sid: str) -> None:
        """The session's CONNECT is being answered: from now on the wait is the server's."""
        self._deadline(eio_sid, self.answer_timeout)

    def answered(self, eio_sid: str, *, authenticated: bool) -> bool:
        """Its CONNECT was answered: no longer pending, or (refused, the transport kept) the client's time again."""
        if authenticated:
            self.authenticated(eio_sid)
        else:
            self._deadline(eio_sid, self.auth_timeout)
        return authenticated

    def _deadline(self, eio_sid: str, seconds: float) -> None:
        session = self._sessions.get(eio_sid)
        if session is not None and session.timer is not None:  # pending: replace its deadline
            session.timer.cancel()
            session.timer = asyncio.get_running_loop().call_later(seconds, self._expire, eio_sid)

    def unauthenticated(self, eio_sid: str) -> None:
        """The session left its namespace but kept the transport: it is pending again."""
        session = self._sessions.get(eio_sid)
        if session is not None and session.timer is None:
            self._arm(eio_sid, session)

    def release(self, eio_sid: str) -> None:
        session = self._sessions.pop(eio_sid, None)
        if session is not None:
            self._disarm(session)

    def _arm(self, eio_sid: str, session: _Session) -> None:
        loop = asyncio.get_running_loop()
        session.timer = loop.call_later(self.auth_timeout, self._expire, eio_sid)
        self._pending_by_ip[session.ip] += 1
        self._pending += 1

    def _disarm(self, session: _Session) -> None:
        if session.timer is None:  # not pending
            return
        session.timer.cancel()
        session.timer = None
        self._pending -= 1
        self._pending_by_ip[session.ip] -= 1
        if self._pending_by_ip[session.ip] <= 0:
            del self._pending_by_ip[session.ip]

    def _expire(self, eio_sid: str) -> None:
        session = self._sessions.get(eio_sid)
        if session is None or session.timer is None:
            return
        self._disarm(session)
        self.expired += 1
        log.info("closing session %s from %s: no authenticated connect in time", eio_sid, session.ip)
        task = asyncio.create_task(self._close(eio_sid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
