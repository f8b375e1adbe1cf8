"""Which sockets are connected, who they belong to and which streams they are in."""

from __future__ import annotations

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


class Connections:
    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        self._by_user: defaultdict[str, set[str]] = defaultdict(set)
        self._by_ip: defaultdict[str, int] = defaultdict(int)

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
