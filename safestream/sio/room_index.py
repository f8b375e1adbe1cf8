"""python-socketio's client managers with an index of each socket's rooms.

``BaseManager.basic_disconnect`` finds a disconnecting socket's rooms by
copying the namespace's whole room table and testing every room, and every
socket has a room of its own: a disconnect costs O(connected sockets). At
10,000 sockets a server's SIGTERM (10,000 disconnects) outlasted its grace
period and a reconnect storm's refused connects cost milliseconds each
(load/README.md, "Reconnect storm"). ``IndexedRooms`` keeps, per socket, the
set of rooms it entered, so a disconnect and ``get_rooms`` touch only those.
The room table itself (``self.rooms``) is python-socketio's, unchanged;
tests/test_room_index.py compares the two managers operation by operation.

python-socketio also keeps the sockets between their handshake and their
connect handler's answer (``pending_connect``), and those being disconnected
(``pending_disconnect``), in a list per namespace, and tests membership of it
for every packet a socket sends (``is_connected``): in a reconnect storm,
thousands of sockets are mid-connect at once, so every packet and every
connect cost a scan of thousands (a quarter of the server's time in a
10,000-client storm). Here both are insertion-ordered sets with the list
methods python-socketio calls (``append``, ``remove``, ``in``, ``len``). A sid
pre-disconnected twice is pending once, so its disconnect ends it (the list
kept the second copy for good).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import socketio
from socketio.base_manager import BaseManager


class SidSet(dict[str, None]):
    """The list python-socketio keeps pending sids in, as an insertion-ordered set: O(1) ``in`` and ``remove``."""

    def __init__(self, sids: Iterable[str] = ()) -> None:
        super().__init__(dict.fromkeys(sids))

    def append(self, sid: str) -> None:
        self[sid] = None

    def remove(self, sid: str) -> None:
        del self[sid]  # KeyError where list.remove raises ValueError: python-socketio checks ``in`` first


class PendingTable(dict[str, SidSet]):
    """namespace -> its pending sids; python-socketio assigns ``[]`` for a new namespace: stored as a SidSet."""

    def __setitem__(self, namespace: str, sids: Iterable[str]) -> None:
        super().__setitem__(namespace, sids if isinstance(sids, SidSet) else SidSet(sids))

    def setdefault(self, namespace: str, sids: Iterable[str] = ()) -> SidSet:
        if namespace not in self:
            self[namespace] = sids
        return self[namespace]


class IndexedRooms(BaseManager):
    """A mixin for any python-socketio manager: put it before the manager class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending_connect = PendingTable()
        self.pending_disconnect = PendingTable()
        #: namespace -> sid -> the rooms it is in, in the order entered (None: the namespace's
        #: all-sockets room). A dict as an ordered set: ``get_rooms`` answers in a stable order.
        self.rooms_of: dict[str, dict[str, dict[Any, None]]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # raises: nothing was entered
        self.rooms_of.setdefault(namespace, {}).setdefault(sid, {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self.rooms_of.get(namespace, {}).get(sid)
        if rooms is not None:
            rooms.pop(room, None)
            if not rooms:
                self._forget(sid, namespace)

    def _forget(self, sid: str, namespace: str) -> dict[Any, None]:
        sids = self.rooms_of.get(namespace)
        rooms = sids.pop(sid, {}) if sids is not None else {}
        if sids is not None and not sids:
            del self.rooms_of[namespace]
        return rooms

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        if namespace not in self.rooms:
            return
        # What python-socketio does, with the socket's rooms from the index instead of a scan.
        for room in self._forget(sid, namespace):
            BaseManager.basic_leave_room(self, sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self.rooms_of.get(namespace, {}).get(sid, ()) if room is not None]


class IndexedManager(IndexedRooms, socketio.AsyncManager):
    """The single-process manager."""
