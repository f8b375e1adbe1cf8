"""Input that used to be a 500 (or no answer at all) is a typed 4xx (issue 9, items 12 and 13)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from safestream.moderation.policy import Policy
from tests.conftest import (
    POSTGRES_URL,
    AppFactory,
    ClientFactory,
    auth,
    login,
    postgres_admin,
    require_service,
)

LEVELS = [{"category": "*", "threshold": 0.8, "action": "flag"}]


async def put_policy(client: TestClient, body: dict[str, Any]) -> Any:
    token = await login(client, "test_streamer", "test456")
    return await client.put("/api/streams/main/policy", json=body, headers=auth(token))


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    return dict((await resp.json())["error"])


@pytest.mark.parametrize(
    "terms", [{"blocked_terms": ["fuck"]}, {"permitted_terms": ["scunthorpe*"]}, {"blocked_terms": ["idiot", "idiot*"]}]
)
async def test_a_term_with_two_modes_is_a_typed_422(client: TestClient, terms: dict[str, list[str]]) -> None:
    error = await error_of(await put_policy(client, {"levels": LEVELS, **terms}), 422)
    assert error["code"] == "invalid_policy"
    # Nothing was stored: the stream keeps its policy.
    token = await login(client, "test_streamer", "test456")
    stored = await (await client.get("/api/streams/main/policy", headers=auth(token))).json()
    assert stored["custom"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"blocked_terms": [f"word{i}" for i in range(501)]},
        {"permitted_terms": [f"word{i}" for i in range(501)]},
        {"blocked_terms": ["x" * 49]},
    ],
)
async def test_term_lists_are_capped(client: TestClient, body: dict[str, list[str]]) -> None:
    error = await error_of(await put_policy(client, {"levels": LEVELS, **body}), 422)
    assert error["code"] == "invalid_payload" and error["fields"]


async def test_policy_terms_compile_off_the_event_loop(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled_on: list[threading.Thread] = []
    original = Policy.from_dict.__func__  # type: ignore[attr-defined]

    def recording(cls: type[Policy], data: Any) -> Policy:
        compiled_on.append(threading.current_thread())
        return original(cls, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(Policy, "from_dict", classmethod(recording))
    body = {
        "levels": LEVELS,
        "blocked_terms": [f"term{i}*" for i in range(500)],
        "permitted_terms": [f"term{i}ok" for i in range(500)],
    }
    resp = await put_policy(client, body)
    assert resp.status == 200, await resp.text()
    assert len((await resp.json())["blocked_terms"]) == 500
    assert compiled_on and threading.main_thread() not in compiled_on


NESTED = ["[" * 100_000 + "]" * 100_000, '{"a":' * 40_000 + "1" + "}" * 40_000]


@pytest.mark.parametrize("body", NESTED, ids=["array", "object"])
@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/auth/register"),
        ("POST", "/api/gift"),
        ("PUT", "/api/streams/main/policy"),
        ("POST", "/api/admin/mute"),
        ("POST", "/api/streams"),
    ],
)
async def test_deeply_nested_json_is_a_400(client: TestClient, method: str, path: str, body: str) -> None:
    token = await login(client, "demo_admin", "admin123")
    resp = await client.request(method, path, data=body, headers={**auth(token), "Content-Type": "application/json"})
    assert (await error_of(resp, 400))["code"] == "invalid_json"


async def test_nul_in_a_url_is_a_400(client: TestClient) -> None:
    token = await login(client, "demo_admin", "admin123")
    resp = await client.get("/metrics?stream=ma%00in", headers=auth(token))
    assert (await error_of(resp, 400))["code"] == "invalid_text"


async def test_a_too_long_polling_post_gets_a_413(client: TestClient) -> None:
    handshake = await client.get("/socket.io/?EIO=4&transport=polling")
    assert handshake.status == 200
    sid = (await handshake.text()).split('"sid":"')[1].split('"')[0]
    post = client.post(
        f"/socket.io/?EIO=4&transport=polling&sid={sid}",
        data=b"4" + b"x" * 70_000,
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    resp = await asyncio.wait_for(post, timeout=10)  # it used to get no answer at all
    assert (await error_of(resp, 413))["code"] == "too_large"


@pytest.mark.postgres
@pytest.mark.parametrize("field", ["email", "username", "password"])
async def test_nul_in_any_text_field_is_a_422_on_postgres(make_app: AppFactory, field: str) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"safestream_nul_{uuid.uuid4().hex[:8]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        app = await make_app(database_url=POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}")
        body = {"username": "nulluser", "password": "secret123", "email": "nul@example.org"}
        body[field] = body[field][:3] + "\x00" + body[field][3:]
        resp = await app.post("/auth/register", json=body)
        assert (await error_of(resp, 422))["code"] == "invalid_text"
        form = await app.post("/auth/login", data={"username": "demo\x00user", "password": "demo123"})
        assert (await error_of(form, 422))["code"] == "invalid_text"
        ok = await app.post(
            "/auth/register", json={"username": "nulluser", "password": "secret123", "email": "nul@example.org"}
        )
        assert ok.status == 201  # the server is fine afterwards
        await app.close()
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_approve_permit_with_a_conflicting_term_is_a_typed_422(
    client: TestClient, sio_client: ClientFactory
) -> None:
    resp = await put_policy(
        client, {"levels": [{"category": "*", "threshold": 0.99, "action": "flag"}], "term_action": "hold"}
    )
    assert resp.status == 200
    sender = await sio_client("demo_user", "demo123", join="main")
    ack = await sender.call("chat", {"message": "crap"})
    assert ack["action"] == "hold"
    token = await login(client, "test_streamer", "test456")
    resp = await client.post(
        f"/api/streams/main/review/{ack['id']}",  # "scunthorpe" is built in as a word
        json={"decision": "approve_permit", "terms": ["scunthorpe*"]},
        headers=auth(token),
    )
    assert (await error_of(resp, 422))["code"] == "invalid_terms"  # checked before the message is claimed
