"""The Socket.IO/Engine.IO edge: reserved event names, sessions before auth, what responses reveal."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestClient

from safestream.app_keys import CONNECTIONS_KEY, SIO_KEY
from safestream.logs import RedactSecrets
from tests.conftest import AppFactory, ClientFactory, auth, login, refusal

RESERVED = [
    "disconnect",
    "connect",
    "connect_error",
    "trigger_event",
    "_conn",
    "history",
    "message",
    "*",
    "on_chat",
    "__init__",
]


async def raw_frame(rec: Any, frame: str) -> None:
    """Sends a Socket.IO packet as a client library would never let you: the raw text."""
    await rec.sio.eio.send(frame)


# -- 1. client-sent reserved events -----------------------------------------------------------


@pytest.mark.parametrize("name", RESERVED)
async def test_reserved_and_unknown_event_names_get_unknown_event(sio_client: ClientFactory, name: str) -> None:
    rec = await sio_client("demo_user", "demo123", join="main")
    ack = await rec.call(name, {"stream": "main"})
    assert ack == {"ok": False, "error": {"code": "unknown_event", "message": f"unknown event {name!r}"}}
    assert (await rec.call("chat", {"message": "still here"}))["ok"]


async def test_raw_disconnect_frames_do_not_untrack_the_socket(client: TestClient, sio_client: ClientFactory) -> None:
    victim = await sio_client("demo_user", "demo123", join="main")
    sender = await sio_client("chat_viewer", "viewer789", join="main")
    sid = victim.sio.get_sid()
    for frame in (
        '2["disconnect",{}]',
        '2["disconnect","client namespace disconnect"]',
        '2["connect",{"HTTP_X_FORWARDED_FOR":"1.2.3.4"},{"token":"x"}]',
        '2["connect_error",{}]',
    ):
        await raw_frame(victim, frame)
    # An ack round trip after the frames: they have all been handled by now.
    assert (await victim.call("leave", {"stream": "main"}))["ok"]
    assert (await victim.call("join", {"stream": "main"}))["ok"]
    assert client.app[CONNECTIONS_KEY].get(sid) is not None
    assert (await sender.call("chat", {"message": "before the ban"}))["ok"]
    await victim.wait_for(lambda: any(m["message"] == "before the ban" for m in victim.chats()))

    admin = await login(client, "demo_admin", "admin123")
    resp = await client.post("/api/admin/ban", json={"username": "demo_user"}, headers=auth(admin))
    assert resp.status == 200, await resp.text()
    await asyncio.wait_for(victim.disconnected.wait(), 5)  # the site-wide ban reached the socket
    assert victim.of("kicked")
    assert (await sender.call("chat", {"message": "after the ban"}))["ok"]
    await asyncio.sleep(0.3)
    assert not any(m["message"] == "after the ban" for m in victim.chats())


async def test_raw_disconnect_frames_do_not_bypass_socket_caps(make_app: AppFactory, sio_client: ClientFactory) -> None:
    app = await make_app(max_sockets_per_user=2, max_connections_per_ip=4)
    token = await login(app, "demo_user", "demo123")
    held = [await sio_client(token=token, test_client=app) for _ in range(2)]
    for rec in held:
        await raw_frame(rec, '2["disconnect",{}]')
        assert (await rec.call("nope"))["error"]["code"] == "unknown_event"  # the frames were handled
    assert await refusal(app, {"token": token}) == {"message": "too_many_connections"}
    other = await login(app, "chat_viewer", "viewer789")
    await sio_client(token=other, test_client=app)
    await sio_client(token=other, test_client=app)
    for rec in held:
        await raw_frame(rec, '2["disconnect",{}]')
    admin = await login(app, "demo_admin", "admin123")
    assert await refusal(app, {"token": admin}) == {"message": "too_many_connections"}  # per-IP cap: 4


# -- 9. sessions before authentication ----------------------------------------------------------


async def handshake(client: TestClient, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
    resp = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"}, headers=headers)
    await resp.read()
    return resp


def session_id(body: str) -> str:
    assert body.startswith("0"), body
    return str(json.loads(body[1:])["sid"])


async def test_unauthenticated_sessions_per_address_are_capped(make_app: AppFactory) -> None:
    app = await make_app(max_pending_per_ip=3, auth_timeout_secs=30)
    opened = []
    for _ in range(3):
        resp = await handshake(app)
        assert resp.status == 200
        opened.append(session_id(await resp.text()))
    refused = await handshake(app)
    assert refused.status == 429 and (await refused.json())["error"]["code"] == "too_many_connections"
    assert refused.headers["Retry-After"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await app.ws_connect("/socket.io/?EIO=4&transport=websocket")
    assert info.value.status == 429
    # A client of the original design (token in the URL) is refused the same way: no session yet.
    token = await login(app, "demo_user", "demo123")
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(str(app.make_url("/")) + f"?token={token}", transports=["polling"], wait_timeout=5)
    # Authenticating one of the open sessions frees its place.
    post = await app.post(
        "/socket.io/",
        params={"EIO": "4", "transport": "polling", "sid": opened[0]},
        data="40" + json.dumps({"token": token}),
    )
    assert post.status == 200
    poll = await app.get("/socket.io/", params={"EIO": "4", "transport": "polling", "sid": opened[0]})
    assert (await poll.text()).startswith("40")
    assert (await handshake(app)).status == 200


async def test_sessions_that_do_not_authenticate_in_time_are_closed(
    make_app: AppFactory, sio_client: ClientFactory
) -> None:
    app = await make_app(auth_timeout_secs=0.5)
    authed = await sio_client("demo_user", "demo123", join="main", test_client=app)
    ws = await app.ws_connect("/socket.io/?EIO=4&transport=websocket")
    opened = await ws.receive_str(timeout=5)
    assert opened.startswith("0")
    polling = session_id(await (await handshake(app)).text())
    poll = await app.get(
        "/socket.io/",
        params={"EIO": "4", "transport": "polling", "sid": polling},
        timeout=aiohttp.ClientTimeout(total=5),
    )
    assert "1" in (await poll.text())  # the pending long-poll is answered with CLOSE
    frames = []
    while not ws.closed:
        msg = await ws.receive(timeout=5)
        if msg.type == aiohttp.WSMsgType.TEXT:
            frames.append(msg.data)
        else:
            break
    assert "1" in frames or ws.closed  # CLOSE packet, then the socket ends
    # A token that fails at CONNECT leaves a pending session: closed too.
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            str(app.make_url("/")), auth={"token": "not-a-token"}, transports=["websocket"], wait_timeout=2
        )
    await asyncio.sleep(1.0)
    assert app.app[SIO_KEY].gate.pending() == 0
    assert authed.sio.connected and (await authed.call("chat", {"message": "authenticated: stays"}))["ok"]


async def test_a_connect_the_server_is_slow_to_answer_is_not_closed_for_it(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The auth timeout is the client's time to ask; a storm's queue behind the connect handler is the server's."""
    from safestream.auth.guard import Guard

    app = await make_app(auth_timeout_secs=0.3)
    token = await login(app, "demo_user", "demo123")
    checked = Guard.from_token

    async def slow(self: Guard, token: str, **kwargs: Any) -> Any:
        await asyncio.sleep(1.0)  # three auth timeouts: queued behind a reconnect storm's other connects
        return await checked(self, token, **kwargs)

    monkeypatch.setattr(Guard, "from_token", slow)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(str(app.make_url("/")), auth={"token": token}, transports=["websocket"], wait_timeout=5)
    try:
        await asyncio.sleep(0.6)  # past the auth timeout again: an authenticated session stays
        assert sio.connected and app.app[SIO_KEY].gate.pending() == 0
        joined = await sio.call("join", {"stream": "main"}, timeout=5)
        assert joined["ok"]
    finally:
        await sio.disconnect()
    # A refused connect is the client's time again: its session is closed at the auth timeout.
    monkeypatch.setattr(Guard, "from_token", checked)
    ws = await app.ws_connect("/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str(timeout=5)).startswith("0")
    await ws.send_str("40" + json.dumps({"token": "not-a-token"}))
    assert (await ws.receive_str(timeout=5)).startswith("44")  # CONNECT_ERROR
    for _ in range(40):
        if app.app[SIO_KEY].gate.pending() == 0:
            break
        await asyncio.sleep(0.05)
    assert app.app[SIO_KEY].gate.pending() == 0 and app.app[SIO_KEY].gate.expired >= 1


async def test_a_namespace_disconnect_that_keeps_the_transport_must_authenticate_again(
    make_app: AppFactory, sio_client: ClientFactory
) -> None:
    app = await make_app(auth_timeout_secs=0.5)
    rec = await sio_client("demo_user", "demo123", test_client=app)
    eio_sid = rec.sio.eio.sid
    await raw_frame(rec, "1")  # a real Socket.IO DISCONNECT for "/", but the Engine.IO transport stays
    for _ in range(100):
        if eio_sid not in app.app[SIO_KEY].eio.sockets:
            break
        await asyncio.sleep(0.05)
    assert eio_sid not in app.app[SIO_KEY].eio.sockets


async def test_the_cap_counts_the_forwarded_address_behind_a_trusted_proxy(make_app: AppFactory) -> None:
    app = await make_app(max_pending_per_ip=1, trusted_proxies=("127.0.0.1",))
    first = {"X-Forwarded-For": "203.0.113.7"}
    assert (await handshake(app, first)).status == 200
    assert (await handshake(app, first)).status == 429
    assert (await handshake(app, {"X-Forwarded-For": "203.0.113.8"})).status == 200
    untrusted = await make_app(max_pending_per_ip=1)
    assert (await handshake(untrusted, first)).status == 200
    assert (await handshake(untrusted, {"X-Forwarded-For": "203.0.113.8"})).status == 429  # header ignored


# -- 22. what responses reveal -----------------------------------------------------------------


async def test_no_response_names_the_python_or_aiohttp_version(client: TestClient) -> None:
    for path in ("/", "/healthz", "/chat", "/no/such/page", "/openapi.json", "/static/nonexistent.js"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.headers.get("Server") == "SafeStream", (path, resp.headers.get("Server"))
    assert (await handshake(client)).headers.get("Server") == "SafeStream"
    ws = await client.ws_connect("/socket.io/?EIO=4&transport=websocket")
    assert ws._response.headers.get("Server") == "SafeStream"
    await ws.close()


async def test_healthz_is_terse_and_readyz_is_for_operators(make_app: AppFactory) -> None:
    app = await make_app(operator_token="operator-token-0123456789")
    body = await (await app.get("/healthz")).json()
    # Terse: the only addition is whether moderation is still loading (no chain names, no queues).
    assert body == {"status": "ok", "database": "ok", "moderation_state": body["moderation_state"]}
    assert body["moderation_state"] in ("loading", "ready")
    assert (await app.get("/readyz")).status == 401
    viewer = await login(app, "demo_user", "demo123")
    assert (await app.get("/readyz", headers=auth(viewer))).status == 403
    assert (await app.get("/readyz", headers=auth("operator-token-wrong-000000"))).status == 401
    for token in (await login(app, "demo_admin", "admin123"), "operator-token-0123456789"):
        resp = await app.get("/readyz", headers=auth(token))
        details = await resp.json()
        assert resp.status == 200 and details["status"] == "ok", details
        assert {"write_queue", "moderation_queue", "moderation", "uptime_s"} <= details.keys()


# -- 7. secrets in error log lines ---------------------------------------------------------------


def test_error_lines_and_tracebacks_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vX3VzZXIifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("safestream.test_redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError(f"bad request to /socket.io/?EIO=4&token={jwt}")
        except ValueError:
            logger.exception(
                "failed %s with header %s",
                "/chat?access_token=abc123secret&x=1",
                "Authorization: Bearer sk-live-0123456789",
            )
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    for secret in (jwt, "abc123secret", "sk-live-0123456789"):
        assert secret not in err
    assert "access_token=[redacted]&x=1" in err and "token=[redacted]" in err and "ValueError" in err


async def test_a_connect_packet_of_a_session_already_gone_is_dropped_quietly(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A reconnect storm's late connect packets (load/README.md, "Reconnect storm"): no KeyError."""
    sio = client.app[SIO_KEY]
    before = len(sio.environ)
    await sio._handle_connect("no-such-session", "/", {"token": "whatever"})
    assert len(sio.environ) == before and not sio.manager.rooms_of.get("/", {}).get("no-such-session")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
