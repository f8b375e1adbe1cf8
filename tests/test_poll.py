"""FastPollSocket: every Engine.IO session gets it, and both transports still carry acks and events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from engineio import exceptions

from safestream.app_keys import SIO_KEY
from safestream.sio.tuning import FastPollSocket
from tests.conftest import ClientFactory, Recorder, login


async def _viewer(client: TestClient, *transports: str) -> Recorder:
    viewer = Recorder()
    token = await login(client, "chat_viewer", "viewer789")
    await viewer.sio.connect(
        str(client.make_url("/")), auth={"token": token}, transports=list(transports), wait_timeout=5
    )
    return viewer


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_sessions_use_the_fast_poll_on_either_transport(
    client: TestClient, sio_client: ClientFactory, transport: str
) -> None:
    viewer = await _viewer(client, transport)
    try:
        sockets = list(client.app[SIO_KEY].eio.sockets.values())
        assert sockets and all(type(s) is FastPollSocket for s in sockets)
        assert (await viewer.call("join", {"stream": "main"}))["ok"]
        sender = await sio_client("demo_user", "demo123", join="main")
        # Several packets queued at once leave in one poll (one long-poll response on polling).
        acks = await asyncio.gather(*(sender.call("chat", {"message": f"line {i}"}) for i in range(5)))
        assert all(a["ok"] for a in acks)
        got = await viewer.wait_for(lambda: len(viewer.chats()) >= 5 and viewer.chats())
        assert [m["message"] for m in got] == [f"line {i}" for i in range(5)]
    finally:
        await viewer.sio.disconnect()


async def test_an_idle_poll_ends_at_the_ping_deadline_as_before(client: TestClient) -> None:
    sio = client.app[SIO_KEY]
    sock = FastPollSocket(sio.eio, "probe")
    sio.eio.ping_interval, sio.eio.ping_timeout = 0.05, 0.05
    with pytest.raises(exceptions.QueueEmpty):
        await sock.poll()
    await sock.queue.put(None)
    assert await sock.poll() == []


async def test_server_pings_go_out_on_a_timer_and_a_silent_client_is_dropped(client: TestClient) -> None:
    sio = client.app[SIO_KEY]
    sio.eio.ping_interval, sio.eio.ping_timeout = 0.2, 0.3
    token = await login(client, "chat_viewer", "viewer789")
    url = client.make_url("/socket.io/").with_query(EIO="4", transport="websocket")
    async with client.session.ws_connect(url) as ws:
        assert (await ws.receive_str(timeout=5)).startswith("0")
        await ws.send_str("40" + json.dumps({"token": token}))
        assert (await ws.receive_str(timeout=5)).startswith("40")
        assert not [t for t in asyncio.all_tasks() if "_send_ping" in repr(t.get_coro())]
        for _ in range(3):  # an answering client is pinged again and again, and kept
            assert await ws.receive_str(timeout=5) == "2"
            await ws.send_str("3")
        assert await ws.receive_str(timeout=5) == "2"
        # Now silent: past the ping timeout the server closes the session.
        msg = await ws.receive(timeout=5)
        while msg.type == aiohttp.WSMsgType.TEXT:
            msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    for _ in range(100):  # the session is removed once its handler has finished
        if not sio.eio.sockets:
            break
        await asyncio.sleep(0.05)
    assert not sio.eio.sockets


async def test_a_parked_websocket_session_holds_one_timer_its_ping(client: TestClient) -> None:
    """Its reader and writer wait with no timer (python-engineio: a timer and a task each); a close ends both."""
    sio = client.app[SIO_KEY]
    token = await login(client, "chat_viewer", "viewer789")
    url = client.make_url("/socket.io/").with_query(EIO="4", transport="websocket")
    heap = asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]  # the loop's pending timers

    def timers() -> Counter[str]:
        return Counter(getattr(h._callback, "__qualname__", "?") for h in heap if not h.cancelled())

    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(client.session.ws_connect(url)) for _ in range(10)]
        for ws in sockets:
            assert (await ws.receive_str(timeout=5)).startswith("0")
            await ws.send_str("40" + json.dumps({"token": token}))
            assert (await ws.receive_str(timeout=5)).startswith("40")
            await ws.send_str('42["join",{"stream":"main"}]')  # a client packet: the reader waits again after it
        await asyncio.sleep(0.2)
        parked = timers()
        assert parked["FastPollSocket._ping_due"] == 10
        # wait_for's and asyncio.timeout's callbacks: at most the test's own, none per session
        assert parked["_release_waiter"] + parked["Timeout._on_timeout"] <= 3, parked
        for sock in list(sio.eio.sockets.values()):
            await sock.close(wait=False)
        for ws in sockets:
            msg = await ws.receive(timeout=5)
            while msg.type == aiohttp.WSMsgType.TEXT:
                msg = await ws.receive(timeout=5)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    for _ in range(100):
        if not sio.eio.sockets:
            break
        await asyncio.sleep(0.05)
    assert not sio.eio.sockets


async def test_a_polling_clients_goodbye_ends_its_open_long_poll(client: TestClient) -> None:
    # python-engineio queued nothing on a client's close, so the open GET waited out
    # the ping deadline (30 s here) while the client and the server held it.
    sio = client.app[SIO_KEY]
    sio.eio.ping_interval, sio.eio.ping_timeout = 25, 5
    token = await login(client, "chat_viewer", "viewer789")
    base = client.make_url("/socket.io/")
    async with client.session.get(base.with_query(EIO="4", transport="polling")) as r:
        sid = json.loads((await r.text())[1:])["sid"]
    session = base.with_query(EIO="4", transport="polling", sid=sid)
    async with client.session.post(session, data="40" + json.dumps({"token": token})) as r:
        assert r.status == 200
    async with client.session.get(session) as r:
        assert (await r.text()).startswith("40")

    async def long_poll() -> tuple[int, str]:
        async with client.session.get(session) as r:
            return r.status, await r.text()

    poll = asyncio.ensure_future(long_poll())
    await asyncio.sleep(0.2)
    assert not poll.done()  # nothing to say yet: the GET is held open
    async with client.session.post(session, data="1") as r:  # Engine.IO close
        assert r.status == 200
    status, _ = await asyncio.wait_for(poll, 10)
    assert status in (200, 400)
    assert sid not in sio.eio.sockets


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_connected_session_keeps_no_request_headers_and_still_works(
    client: TestClient, sio_client: ClientFactory, transport: str
) -> None:
    viewer = Recorder()
    token = await login(client, "chat_viewer", "viewer789")
    url = str(client.make_url("/")) + f"?token={token}"  # the token in the query, as the seed's clients send it
    await viewer.sio.connect(url, headers={"X-Padding": "p" * 500}, transports=[transport], wait_timeout=5)
    try:
        sio = client.app[SIO_KEY]
        [environ] = sio.environ.values()
        assert not any(key.startswith("HTTP_") for key in environ)  # ~1 KB a socket, for its whole life
        assert environ["aiohttp.request"] is not None and "token=" in environ["QUERY_STRING"]
        assert (await viewer.call("join", {"stream": "main"}))["ok"]
        sender = await sio_client("demo_user", "demo123", join="main")
        assert (await sender.call("chat", {"message": "still here"}))["ok"]
        await viewer.wait_for(lambda: viewer.chats())
    finally:
        await viewer.sio.disconnect()


async def test_a_polling_session_upgrades_to_websocket_and_carries_chat(
    client: TestClient, sio_client: ClientFactory
) -> None:
    """The browser client's default: polling first, then the probe exchange moves it to a WebSocket."""
    sio = client.app[SIO_KEY]
    viewer = await _viewer(client, "polling", "websocket")
    try:
        for _ in range(100):
            if viewer.sio.transport() == "websocket":
                break
            await asyncio.sleep(0.05)
        assert viewer.sio.transport() == "websocket"
        [sock] = sio.eio.sockets.values()
        assert sock.upgraded and not sock.upgrading
        assert (await viewer.call("join", {"stream": "main"}))["ok"]
        sender = await sio_client("demo_user", "demo123", join="main")
        acks = await asyncio.gather(*(sender.call("chat", {"message": f"up {i}"}) for i in range(3)))
        assert all(a["ok"] for a in acks)
        got = await viewer.wait_for(lambda: len(viewer.chats()) >= 3 and viewer.chats())
        assert [m["message"] for m in got] == ["up 0", "up 1", "up 2"]
    finally:
        await viewer.sio.disconnect()
    for _ in range(100):
        if len(sio.eio.sockets) == 1:  # the sender's
            break
        await asyncio.sleep(0.05)
    assert len(sio.eio.sockets) == 1
