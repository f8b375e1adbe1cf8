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


async def test_connect_and_disconnect_bookkeeping_answers_as_python_socketio_does() -> None:
    """pre_connect / connect / pre_disconnect / disconnect in random order: the same answers, the same pending sids."""
    rng = random.Random(11)
    plain_server, our_server = socketio.AsyncServer(), socketio.AsyncServer(client_manager=IndexedManager())
    plain, ours = plain_server.manager, our_server.manager
    assert isinstance(ours, IndexedManager)
    ids = iter(range(10**6))
    for server in (plain_server, our_server):  # the same sids in both
        server.eio.generate_id = lambda: f"s{next(ids) // 2}"  # type: ignore[method-assign]
    known: list[tuple[str, str]] = []
    for step in range(2000):
        op = rng.random()
        if op < 0.3 or not known:
            eio = f"e{step}"
            sids = {await m.pre_connect(eio, "/") for m in (plain, ours)}
            assert len(sids) == 1, step
            known.append((sids.pop(), eio))
            continue
        sid, _ = rng.choice(known)
        if op < 0.5:
            if plain.is_pre_connected(sid, "/"):  # a server connects only what it pre-connected
                assert [await m.connect(sid, "/") for m in (plain, ours)] == [sid, sid]
        elif op < 0.6:
            if sid not in plain.pending_disconnect.get("/", []):  # a disconnect starts once
                assert ours.pre_disconnect(sid, "/") == plain.pre_disconnect(sid, "/")
        elif op < 0.75:
            for m in (plain, ours):
                m.basic_disconnect(sid, "/")
            known.remove(next(k for k in known if k[0] == sid))
        for probe, _ in rng.sample(known, min(5, len(known))):
            assert ours.is_connected(probe, "/") == plain.is_connected(probe, "/"), step
            assert ours.is_pre_connected(probe, "/") == plain.is_pre_connected(probe, "/"), step
        for table in ("pending_connect", "pending_disconnect"):
            theirs = {ns: list(sids) for ns, sids in getattr(plain, table).items()}
            assert {ns: list(sids) for ns, sids in getattr(ours, table).items()} == theirs, (step, table)
        assert _table(ours) == _table(plain), step


def test_a_socket_mid_connect_is_found_without_scanning_the_others() -> None:
    """Membership of the pending tables costs the same with 5,000 sockets mid-connect as with one."""
    manager = IndexedManager()
    compared = 0

    class Probe(str):
        __hash__ = str.__hash__

        def __eq__(self, other: object) -> bool:
            nonlocal compared
            compared += 1
            return str.__eq__(self, other)

    for i in range(5000):
        manager.pending_connect.setdefault("/", [])  # python-socketio's own way of starting a namespace
        manager.pending_connect["/"].append(f"sid{i}")
        manager.rooms.setdefault("/", {}).setdefault(None, {})  # no room needed for the probe below
    assert not manager.is_connected(Probe("sid4999"), "/")  # pending: not yet connected
    assert not manager.is_pre_connected(Probe("elsewhere"), "/")
    assert compared <= 2  # a list would have compared the probe with up to 5,000 sids
