"""Which sockets are connected, who they belong to and which streams they are in."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from safestream.auth.roles import Principal


@dataclass(slots=True)
class Connection:
    sid: str
    principal: Principal
    ip: str
    streams: set[str] = field(default_factory=set)
    consoles: set[str] = field(default_factory=set)
    #: Streams that ended while this socket was in them (their chat answers ``stream_offline``).
    ended: set[str] = field(default_factory=set)

    @property
    def username(self) -> str:
        return self.principal.username


#: How long a session end is remembered for sockets still authenticating (seconds).
ENDED_MEMORY = 120.0


class Connections:
    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        self._by_user: defaultdict[str, set[str]] = defaultdict(set)
        self._by_ip: defaultdict[str, int] = defaultdict(int)
        self._ended: dict[str, float] = {}

    def sessions_ended(self, username: str) -> None:
        """Marks the user's sessions as ended now (see ``ended_since``)."""
        now = time.monotonic()
        if len(self._ended) > 1000:
            self._ended = {u: t for u, t in self._ended.items() if t > now - ENDED_MEMORY}
        self._ended[username] = now

    def ended_since(self, username: str, started: float) -> bool:
        """True when the user's sessions ended after ``started``: a socket that read its
        token's validity before the revocation, and would join after the drop, is refused."""
        return self._ended.get(username, float("-inf")) >= started

    def __len__(self) -> int:
        return len(self._by_sid)

    def add(self, conn: Connection) -> None:
        self._by_sid[conn.sid] = conn
        self._by_user[conn.username].add(conn.sid)
        self._by_ip[conn.ip] += 1

    def remove(self, sid: str) -> Connection | None:
        conn = self._by_sid.pop(sid, None)
        if conn is None:
            return None
        sids = self._by_user.get(conn.username)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._by_user[conn.username]
        self._by_ip[conn.ip] -= 1
        if self._by_ip[conn.ip] <= 0:
            del self._by_ip[conn.ip]
        return conn

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def all(self) -> list[Connection]:
        return list(self._by_sid.values())

    def of_user(self, username: str) -> list[Connection]:
        return [self._by_sid[sid] for sid in self._by_user.get(username, ())]

    def per_ip(self, ip: str) -> int:
        return self._by_ip.get(ip, 0)
