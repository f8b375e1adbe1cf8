"""Who is in which stream's room: entering, leaving, kicks and the end of a stream.

Every way a socket leaves a stream (``leave``, a disconnect, a stream-scoped
kick or ban, the stream ending) goes through ``leave`` here, so the socket's
own record, the Socket.IO room and the viewer count never disagree.
"""

from __future__ import annotations

from typing import Any

import socketio

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.rooms import Room, Rooms, room_name
from safestream.cluster import Cluster
from safestream.sio.connections import Connection, Connections


class Membership:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        connections: Connections,
        rooms: Rooms,
        broadcaster: Broadcaster,
        cluster: Cluster,
    ) -> None:
        self._sio = sio
        self._connections = connections
        self._rooms = rooms
        self._cluster = cluster
        self._broadcaster = broadcaster

    async def enter(self, conn: Connection, room: Room) -> bool:
        """Puts the socket in the stream's room; False when it was already there."""
        if room.slug in conn.streams:
            return False
        conn.streams.add(room.slug)
        conn.ended.discard(room.slug)
        await self._sio.enter_room(conn.sid, room_name(room.slug))
        if room.add_viewer(conn.username):
            await self._cluster.set_viewer(room.slug, conn.username, True)
            self._broadcaster.presence_changed(room.slug)
        return True

    async def leave(self, conn: Connection, stream: str, *, room_too: bool = True) -> bool:
        """Takes the socket out of the stream; False when it was not in it.

        ``room_too=False`` is for a socket that is disconnecting: python-socketio
        drops it from its rooms itself.
        """
        if stream not in conn.streams:
            return False
        conn.streams.discard(stream)
        if room_too:
            await self._sio.leave_room(conn.sid, room_name(stream))
        room = self._rooms.get(stream)
        if room is not None and room.remove_viewer(conn.username):
            await self._cluster.set_viewer(stream, conn.username, False)
            if room.live:
                self._broadcaster.presence_changed(stream)
        return True

    async def kick(self, username: str, payload: dict[str, Any]) -> int:
        """This process's sockets of the user: ``kicked``, then out of the stream
        (a stream-scoped kick or ban) or disconnected (site-wide, ``stream`` None)."""
        stream = payload.get("stream")
        conns = [c for c in self._connections.of_user(username) if stream is None or stream in c.streams]
        for conn in conns:
            await self._broadcaster.kicked(conn.sid, payload)
        for conn in conns:
            if stream is None:
                # The kicked packet is queued ahead of the disconnect, so it arrives first.
                await self._sio.disconnect(conn.sid)
            else:
                await self.leave(conn, stream)
        return len(conns)

    async def empty(self, stream: str) -> int:
        """The stream ended: every socket of this process leaves its room (after
        ``stream_status`` went out), so nobody reads or writes an ended stream."""
        inside = [c for c in self._connections.all() if stream in c.streams]
        for conn in inside:
            await self.leave(conn, stream)
            conn.ended.add(stream)
        room = self._rooms.get(stream)
        if room is not None:
            room.viewers.clear()
        return len(inside)
