"""Every HTTP route and socket event against every role: the exact allowed set."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from safestream.app_keys import SESSIONS_KEY
from safestream.storage import users
from tests.conftest import ClientFactory, auth, login

ROLES = ("anonymous", "viewer", "streamer_own", "streamer_other", "moderator", "admin")
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
STREAM_MODS = {"streamer_own", "moderator", "admin"}
GLOBAL_MODS = {"moderator", "admin"}

# (method, path, body, roles allowed). "Allowed" means neither 401 nor 403.
ROUTES: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/streams", None, EVERYONE),
    ("GET", "/metrics", None, EVERYONE),
    ("GET", "/healthz", None, EVERYONE),
    ("GET", "/readyz", None, {"admin"}),
    ("GET", "/openapi.json", None, EVERYONE),
    ("GET", "/docs", None, EVERYONE),
    ("GET", "/chat", None, EVERYONE),
    ("GET", "/auth/me", None, SIGNED_IN),
    ("POST", "/api/gift", {"gift_id": "rose", "stream": "main"}, SIGNED_IN),
    ("POST", "/api/streams", {"stream": "fresh", "title": "t"}, {"streamer_own", "streamer_other", "admin"}),
    ("POST", "/api/admin/kick", {"username": "chat_viewer", "stream": "main"}, STREAM_MODS),
    ("POST", "/api/admin/kick", {"username": "chat_viewer"}, GLOBAL_MODS),
    ("POST", "/api/admin/mute", {"username": "chat_viewer", "stream": "main"}, STREAM_MODS),
    ("POST", "/api/admin/mute", {"username": "chat_viewer"}, GLOBAL_MODS),
    ("POST", "/api/admin/unmute", {"username": "chat_viewer", "stream": "main"}, STREAM_MODS),
    ("POST", "/api/admin/ban", {"username": "chat_viewer", "stream": "main", "duration_s": 5}, STREAM_MODS),
    ("POST", "/api/admin/unban", {"username": "chat_viewer", "stream": "main"}, STREAM_MODS),
    ("POST", "/api/admin/remove", {"stream": "main", "ids": [1]}, STREAM_MODS),
    ("POST", "/api/admin/reset_metrics", {}, {"admin"}),
    ("GET", "/api/streams/main/policy", None, STREAM_MODS),
    (
        "PUT",
        "/api/streams/main/policy",
        {"levels": [{"category": "*", "threshold": 0.7, "action": "flag"}]},
        STREAM_MODS,
    ),
    ("GET", "/api/streams/main/review", None, STREAM_MODS),
    ("POST", "/api/streams/main/review/999", {"decision": "deny"}, STREAM_MODS),
    ("POST", "/api/streams/main/end", None, STREAM_MODS),
    ("POST", "/api/admin/role", {"username": "spare", "role": "streamer"}, {"admin"}),
    ("POST", "/api/admin/delete_user", {"username": "spare"}, {"admin"}),
]


@pytest.fixture
async def tokens(client: TestClient) -> dict[str, str | None]:
    sessions = client.app[SESSIONS_KEY]
    for name, role in (("rival", "streamer"), ("mod_one", "moderator"), ("spare", "viewer")):
        await client.post("/auth/register", json={"username": name, "password": "password-1"})
        await users.set_role(sessions, username=name, role=role)
    rival = await login(client, "rival", "password-1")
    assert (await client.post("/api/streams", json={"stream": "rival-show"}, headers=auth(rival))).status == 201
    return {
        "anonymous": None,
        "viewer": await login(client, "demo_user", "demo123"),
        "streamer_own": await login(client, "test_streamer", "test456"),
        "streamer_other": rival,
        "moderator": await login(client, "mod_one", "password-1"),
        "admin": await login(client, "demo_admin", "admin123"),
    }


async def test_http_route_matrix(client: TestClient, tokens: dict[str, str | None]) -> None:
    failures = []
    for method, path, body, allowed in ROUTES:
        for role in ROLES:
            token = tokens[role]
            headers = auth(token) if token else {}
            resp = await client.request(method, path, json=body, headers=headers)
            refused = resp.status in (401, 403)
            expected_refusal = 401 if token is None else 403
            if (role in allowed) == refused or (refused and resp.status != expected_refusal):
                failures.append(f"{method} {path} as {role}: {resp.status}")
    assert not failures, "\n".join(failures)


async def test_socket_event_matrix(
    client: TestClient, sio_client: ClientFactory, tokens: dict[str, str | None]
) -> None:
    for role in ROLES[1:]:
        rec = await sio_client(token=tokens[role])
        assert (await rec.call("join", {"stream": "main"}))["ok"], role
        assert (await rec.call("chat", {"message": f"hello from {role}"}))["ok"], role
        console = await rec.call("console_join", {"stream": "main"})
        assert console["ok"] is (role in STREAM_MODS), (role, console)
        if not console["ok"]:
            assert console["error"]["code"] == "forbidden"
        assert (await rec.call("leave", {"stream": "main"}))["ok"], role
