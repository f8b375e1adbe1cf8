"""IndexedRooms: python-socketio's room table, kept the same, with O(rooms of the socket) disconnects."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import socketio
from aiohttp.test_utils import TestClient

from safestream.app_keys import SIO_KEY
from safestream.sio.room_index import IndexedManager
from tests.conftest import ClientFactory


def _table(manager: Any) -> dict[Any, Any]:
    return {ns: {room: dict(members) for room, members in rooms.items()} for ns, rooms in manager.rooms.items()}


def test_random_operations_leave_the_same_room_table_as_python_socketio() -> None:
    rng = random.Random(7)
    plain, ours = socketio.AsyncManager(), IndexedManager()
    connected: dict[str, list[str]] = {"/": [], "/admin": []}
    for step in range(3000):
        ns = rng.choice(["/", "/admin"])
        op = rng.random()
        if op < 0.25 or not connected[ns]:
            sid = f"s{step}"
            for manager in (plain, ours):
                manager.basic_enter_room(sid, ns, None, eio_sid=f"e{step}")
                manager.basic_enter_room(sid, ns, sid, eio_sid=f"e{step}")
            connected[ns].append(sid)
        else:
            sid = rng.choice(connected[ns])
            room = rng.choice(["stream:main", "stream:other", "user:ann", "console:main"])
            for manager in (plain, ours):
                if op < 0.55:
                    manager.basic_enter_room(sid, ns, room)
                elif op < 0.75:
                    manager.basic_leave_room(sid, ns, room)
                elif op < 0.78:
                    manager.basic_close_room(room, ns)
                else:
                    manager.callbacks[sid] = {1: print}
                    manager.basic_disconnect(sid, ns)
            if op >= 0.78:
                connected[ns].remove(sid)
        assert _table(ours) == _table(plain), step
        assert ours.callbacks.keys() == plain.callbacks.keys()
        for sid in connected[ns][-3:]:
            assert sorted(ours.get_rooms(sid, ns)) == sorted(plain.get_rooms(sid, ns))
    for ns, sids in connected.items():
        for sid in sids:
            ours.basic_disconnect(sid, ns)
    assert ours.rooms_of == {} and ours.rooms == {}


async def test_real_sockets_leave_no_rooms_behind(client: TestClient, sio_client: ClientFactory) -> None:
    manager = client.app[SIO_KEY].manager
    assert isinstance(manager, IndexedManager)
    viewers = [await sio_client("chat_viewer", "viewer789", join="main") for _ in range(3)]
    sender = await sio_client("demo_user", "demo123", join="main")
    sids = {v.sio.get_sid("/") for v in viewers}
    assert all({"stream:main", "user:chat_viewer"} <= set(manager.get_rooms(s, "/")) for s in sids)
    for viewer in viewers:
        await viewer.sio.disconnect()
    for _ in range(100):  # the server handles each disconnect when its close frame arrives
        if all(s not in manager.rooms_of.get("/", {}) for s in sids):
            break
        await asyncio.sleep(0.05)
    assert all(s not in manager.rooms_of.get("/", {}) for s in sids)
    assert not any(s in members for members in manager.rooms["/"].values() for s in sids)
    assert (await sender.call("chat", {"message": "still here"}))["ok"]
