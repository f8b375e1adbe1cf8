"""The per-stream flush window and the direct fan-out, against the real app and real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from socketio.packet import EVENT

from safestream.app_keys import BROADCASTER_KEY, SIO_KEY
from safestream.chat.broadcaster import Broadcaster
from safestream.chat.fanout import DirectFanout, SocketioFanout
from safestream.chat.rooms import room_name
from safestream.errors import ConfigError
from safestream.settings import Settings
from safestream.sio.connections import Connections
from tests.conftest import AppFactory, ClientFactory, login


async def _raw_viewer(http: aiohttp.ClientSession, app: TestClient, token: str) -> aiohttp.ClientWebSocketResponse:
    """A hand-spoken Socket.IO client in ``main``: it sees the exact text frames the server sends."""
    ws = await http.ws_connect(str(app.make_url("/socket.io/?EIO=4&transport=websocket")))
    await ws.receive()  # Engine.IO open
    await ws.send_str("40" + json.dumps({"token": token}))
    await ws.receive()  # Socket.IO connect
    await ws.send_str('420["join",{"stream":"main"}]')
    while not (await ws.receive()).data.startswith("430"):
        pass
    return ws


async def _events(ws: aiohttp.ClientWebSocketResponse, until: int, timeout: float = 10.0) -> list[str]:
    """Raw ``42...`` event frames (presence excluded) until ``until`` chat messages arrived."""
    frames: list[str] = []
    seen = 0
    async with asyncio.timeout(timeout):
        while seen < until:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket ended: {msg}")
            if msg.data == "2":
                await ws.send_str("3")
            elif msg.data.startswith('42["chat'):
                frames.append(msg.data)
                name, data = json.loads(msg.data[2:])
                seen += 1 if name == "chat" else len(data)
    return frames


@pytest.mark.parametrize("fanout", ["direct", "socketio"])
async def test_a_quiet_streams_message_goes_out_at_once_as_one_chat(
    make_app: AppFactory, sio_client: ClientFactory, fanout: str
) -> None:
    app = await make_app(chat_flush_window_ms=25.0, fanout=fanout)
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    for text in ("first", "second"):  # each after a quiet spell: never held for a batch
        ack = await sender.call("chat", {"message": text})
        assert ack["ok"], ack
        await viewer.wait_for(lambda t=text: [m for m in viewer.of("chat") if m["message"] == t])
        await asyncio.sleep(0.06)
    assert viewer.of("chat_batch") == []


@pytest.mark.parametrize(("fanout", "window"), [("direct", 25.0), ("socketio", 25.0), ("direct", 0.0)])
async def test_a_burst_arrives_coalesced_in_order_with_no_loss(
    make_app: AppFactory, sio_client: ClientFactory, fanout: str, window: float
) -> None:
    # The profanity stage scores a message in a few ms: sent 10 ms apart, each is a moderation
    # batch of its own, so only the flush window can put several in one frame.
    app = await make_app(
        chat_flush_window_ms=window,
        chat_frame_budget=0,  # three sockets are far under any budget: this test is about the window itself
        fanout=fanout,
        rate_limit_per_user=100000,
        moderation="profanity",
    )
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    senders = [
        await sio_client(name, password, join="main", test_client=app)
        for name, password in (("demo_user", "demo123"), ("demo_admin", "admin123"))
    ]
    calls = []
    for i in range(80):
        calls.append(asyncio.create_task(senders[i % 2].call("chat", {"message": f"burst {i}"})))
        await asyncio.sleep(0.010)
    acks = await asyncio.gather(*calls)
    ids = sorted(a["id"] for a in acks if a["ok"] and a["action"] == "allow")
    assert len(ids) == 80
    got = await viewer.wait_for(lambda: len(viewer.chats()) >= 80 and viewer.chats())
    await asyncio.sleep(0.1)
    assert [m["id"] for m in viewer.chats()] == ids  # every message, once, in id order
    frames = len(viewer.of("chat")) + len(viewer.of("chat_batch"))
    if window:
        assert frames < 40, f"{frames} frames for 80 messages: not coalesced"
    # Without a window a frame carries one moderation batch: how many that makes depends on how fast
    # this machine scores, so the control case checks order and loss only.
    assert len(got) == 80


async def test_every_fanout_path_sends_the_same_frames(make_app: AppFactory) -> None:
    app = await make_app(fanout="direct")
    sio = app.app[SIO_KEY]
    token = await login(app, "chat_viewer", "viewer789")
    payload = {
        "type": "chat",
        "id": 7,
        "stream": "main",
        "user": "ünï",
        "message": 'a "quoted" line \u2603' + "x" * 200,  # past 125 bytes: the 16-bit length header
        "toxic": False,
        "score": 0.01,
        "ts": "2026-12-01T00:00:00Z",
    }
    async with aiohttp.ClientSession() as http:
        ws = await _raw_viewer(http, app, token)
        written = sio.wires.written
        for fanout in (SocketioFanout(sio), DirectFanout(sio), DirectFanout(sio, sio.wires)):
            await fanout.emit("chat", payload, room_name("main"))
            await fanout.emit("chat_batch", [payload, {**payload, "id": 8}] * 200, room_name("main"))  # 64-bit length
            await asyncio.sleep(0.05)  # the socket's writer parks again: the wire path may write
        frames = await _events(ws, until=3 * 401)
        await ws.close()
    reference_one, reference_batch, queued_one, queued_batch, wire_one, wire_batch = frames
    assert sio.wires.written >= written + 2  # the last two went straight to the WebSocket
    assert queued_one == wire_one == reference_one and queued_batch == wire_batch == reference_batch
    assert json.loads(wire_batch[2:]) == ["chat_batch", [payload, {**payload, "id": 8}] * 200]


async def test_a_direct_write_never_overtakes_what_the_socket_queued(make_app: AppFactory) -> None:
    # Frames to one socket (python-socketio's queue) and room frames (written directly when
    # the socket is idle) interleave; the viewer must see them in the order they were sent.
    app = await make_app(fanout="direct")
    sio = app.app[SIO_KEY]
    token = await login(app, "chat_viewer", "viewer789")
    fanout = DirectFanout(sio, sio.wires)
    async with aiohttp.ClientSession() as http:
        ws = await _raw_viewer(http, app, token)
        (sid,) = [sid for sid, _ in sio.manager.get_participants("/", room_name("main"))]
        written = sio.wires.written
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        for i in range(200):
            if i % 3 == 0:  # python-socketio's queue
                await sio.emit("chat", {"id": i, "message": "own"}, to=sid)
            elif i % 3 == 1:  # one socket's packet (acks take this way): direct when idle
                await sio._send_packet(eio_sid, sio.packet_class(EVENT, data=["chat", {"id": i}], namespace="/"))
            else:
                fanout.emit_now("chat", {"id": i, "message": "room"}, room_name("main"))
            if i % 7 == 0:
                await asyncio.sleep(0)  # let the writer run now and then, so both paths are taken
        frames = await _events(ws, until=200)
        await ws.close()
    assert [json.loads(f[2:])[1]["id"] for f in frames] == list(range(200))
    assert sio.wires.written > written  # some room frames did take the direct path


async def test_only_upgraded_websockets_are_written_directly(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(fanout="direct")
    sio = app.app[SIO_KEY]
    poller = await sio_client("chat_viewer", "viewer789", join="main", test_client=app, transports=("polling",))
    socket_viewer = await sio_client("demo_admin", "admin123", join="main", test_client=app)
    assert len(sio.wires) == 1  # the polling session has no WebSocket to write to
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    assert len(sio.wires) == 2
    ack = await sender.call("chat", {"message": "to everyone"})
    for viewer in (poller, socket_viewer):
        await viewer.wait_for(lambda v=viewer: [m for m in v.chats() if m["id"] == ack["id"]])
    await socket_viewer.sio.disconnect()
    await asyncio.sleep(0.1)
    assert len(sio.wires) == 1  # a closed session leaves the registry


class _Recording:
    """A fan-out that records what would be sent, and when (the loop's clock), to ``sockets`` recipients."""

    def __init__(self, sockets: int = 1) -> None:
        self.frames: list[tuple[float, str, Any]] = []
        self.sockets = sockets

    async def emit(self, event: str, data: Any, room: str) -> None:
        self.frames.append((asyncio.get_running_loop().time(), event, data))

    def recipients(self, room: str) -> int:
        return self.sockets


async def _unused_count(stream: str) -> int:
    return 0


async def _loop_lag(loop: asyncio.AbstractEventLoop, lags: list[float]) -> None:
    """Sleeps 1 ms at a time, keeping how much later than asked each sleep woke (the loop's lag)."""
    while True:
        before = loop.time()
        await asyncio.sleep(0.001)
        lags.append(loop.time() - before - 0.001)


async def test_no_message_waits_longer_than_the_window_and_frames_are_a_window_apart() -> None:
    window = 0.025
    fanout = _Recording()
    broadcaster = Broadcaster(
        None,
        Connections(),
        viewer_count=_unused_count,  # type: ignore[arg-type]
        flush_window=window,
        fanout=fanout,
    )
    loop = asyncio.get_running_loop()
    arrived: dict[int, float] = {}
    lags: list[float] = []
    lag = asyncio.create_task(_loop_lag(loop, lags))
    # 300 messages at uneven gaps (0..10 ms): bursts, trickles and pauses longer than the window.
    for i in range(300):
        arrived[i] = loop.time()
        await broadcaster.chat("main", [{"id": i}])
        await asyncio.sleep(((i * 7919) % 11) / 1000 if i % 50 else 0.06)
    await asyncio.sleep(window * 2)
    lag.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await lag
    worst_lag = max(lags, default=0.0)
    ids = [p["id"] for _, event, data in fanout.frames for p in ([data] if event == "chat" else data)]
    assert ids == list(range(300))
    # A due frame goes out as soon as the loop gets to it: a few ms of slack, plus however late the
    # loop itself ran during the test (a busy machine or a tracer stalls every timer alike).
    slack = 0.010 + worst_lag
    for at, event, data in fanout.frames:
        for p in [data] if event == "chat" else data:
            assert at - arrived[p["id"]] <= window + slack, (p, at - arrived[p["id"]])
    gaps = [b[0] - a[0] for a, b in zip(fanout.frames, fanout.frames[1:], strict=False)]
    assert min(gaps) >= window * 0.9  # at most one frame per window: frames/s bounded, whatever the rate
    assert any(event == "chat_batch" for _, event, _ in fanout.frames)
    await broadcaster.close()


@pytest.mark.parametrize(("sockets", "batched"), [(200, False), (1000, True)])
async def test_the_window_grows_with_the_room_under_the_frame_budget(sockets: int, batched: bool) -> None:
    # 50 msg/s: 200 sockets x 50 frames/s is half the budget, so each message goes out at once;
    # 1,000 sockets would cost 50,000 a second, so that room gathers for its whole (25 ms) window.
    fanout = _Recording(sockets)
    broadcaster = Broadcaster(
        None,
        Connections(),
        viewer_count=_unused_count,  # type: ignore[arg-type]
        flush_window=0.025,
        frame_budget=20000,
        fanout=fanout,
    )
    assert broadcaster.window_for("main") == pytest.approx(min(0.025, sockets / 20000))
    for i in range(40):
        await broadcaster.chat("main", [{"id": i}])
        await asyncio.sleep(0.020)
    await broadcaster.flush("main")
    ids = [p["id"] for _, event, data in fanout.frames for p in ([data] if event == "chat" else data)]
    assert ids == list(range(40))
    batches = [data for _, event, data in fanout.frames if event == "chat_batch"]
    if batched:
        assert len(fanout.frames) <= 30, len(fanout.frames)
    else:
        assert batches == [] and len(fanout.frames) == 40
    await broadcaster.close()


async def test_a_removal_never_overtakes_the_message_it_removes() -> None:
    fanout = _Recording()
    broadcaster = Broadcaster(
        None,
        Connections(),
        viewer_count=_unused_count,  # type: ignore[arg-type]
        flush_window=0.025,
        fanout=fanout,
    )
    broadcaster._sio = _Emits(fanout)  # type: ignore[assignment]
    await broadcaster.chat("main", [{"id": 1}])  # quiet: out now
    await broadcaster.chat("main", [{"id": 2}])  # within the window: waits
    await broadcaster.message_removed("main", [2])
    assert [event for _, event, _ in fanout.frames] == ["chat", "chat", "message_removed"]
    await broadcaster.close()


class _Emits:
    """Stands in for the Socket.IO server's ``emit`` (non-chat events), recording into the same list."""

    def __init__(self, rec: _Recording) -> None:
        self._rec = rec

    async def emit(self, event: str, data: Any, **_: Any) -> None:
        await self._rec.emit(event, data, "")


async def test_a_window_above_the_bound_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"SAFESTREAM_CHAT_FLUSH_WINDOW_MS|SAFESTREAM_FANOUT"):
        settings.replace(chat_flush_window_ms=26)
    with pytest.raises(ConfigError, match=r"SAFESTREAM_CHAT_FLUSH_WINDOW_MS|SAFESTREAM_FANOUT"):
        settings.replace(fanout="fast")


async def test_shutdown_flushes_what_waits_in_a_window(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(chat_flush_window_ms=25.0)
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    broadcaster = app.app[BROADCASTER_KEY]
    first = {
        "type": "chat",
        "id": 900001,
        "stream": "main",
        "user": "x",
        "message": "one",
        "toxic": False,
        "score": 0.0,
        "ts": "2026-12-01T00:00:00Z",
    }
    await broadcaster.chat("main", [first])
    await broadcaster.chat("main", [{**first, "id": 900002, "message": "two"}])
    await broadcaster.server_shutdown()
    await viewer.wait_for(lambda: viewer.of("server_shutdown"))
    names = [name for name, _ in viewer.events if name in ("chat", "chat_batch", "server_shutdown")]
    assert names == ["chat", "chat", "server_shutdown"]


class _NoRoomEmits:
    """A Socket.IO server that fails any emit: room events must take the fan-out instead."""

    async def emit(self, event: str, *_: Any, **__: Any) -> None:
        raise AssertionError(f"{event} went around the room fan-out")


async def test_every_room_event_takes_the_room_fanout() -> None:
    """Gifts, presence, modes, removals and console fragments share chat's fan-out (its order and cost)."""
    fanout = _Recording()
    broadcaster = Broadcaster(
        _NoRoomEmits(),  # type: ignore[arg-type]
        Connections(),
        viewer_count=_unused_count,
        presence_interval=0.0,
        fanout=fanout,
    )
    await broadcaster.gift({"stream": "main", "gift": "rose"})
    await broadcaster.modes("main", {"stream": "main", "shield": True})
    await broadcaster.message_removed("main", [1])
    await broadcaster.console("main", {"html": "<p>row</p>"})
    await broadcaster.console_staff({"html": "<p>ban</p>"})
    broadcaster.presence_changed("main")
    async with asyncio.timeout(5):
        while len(fanout.frames) < 6:
            await asyncio.sleep(0.01)
    assert [event for _, event, _ in fanout.frames] == [
        "gift",
        "modes",
        "message_removed",
        "console_fragment",
        "console_fragment",
        "presence",
    ]
    await broadcaster.close()


async def test_chat_with_and_without_an_ack_is_delivered_and_refusals_are_typed(
    make_app: AppFactory, sio_client: ClientFactory
) -> None:
    # Acked chat is answered without a task per message (ChatServer's immediate events); chat
    # emitted without a callback still takes the handler's ordinary way. Both reach the room.
    app = await make_app()
    viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    await sender.sio.emit("chat", {"message": "no callback"})
    acked_ = await sender.call("chat", {"message": "with a callback"})
    assert acked_["ok"] and acked_["action"] == "allow"
    await viewer.wait_for(lambda: {m["message"] for m in viewer.chats()} >= {"no callback", "with a callback"})
    bad = await sender.call("chat", {"text": "wrong field"})
    assert bad == {"ok": False, "error": {"code": "invalid_payload", "message": "message must be a string"}}
    offline = await sender.call("chat", {"message": "hi", "stream": "nowhere"})
    assert offline["ok"] is False and offline["error"]["code"] == "not_in_stream"
