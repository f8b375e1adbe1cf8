"""Register, login, /auth/me, token refusal and role-derived access."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey

from safestream.app_keys import SESSIONS_KEY, SETTINGS_KEY
from safestream.settings import DEFAULT_JWT_SECRET
from safestream.storage import users
from tests.conftest import auth, login


async def test_register_login_me(client: TestClient) -> None:
    resp = await client.post(
        "/auth/register", json={"username": "alice", "password": "s3cret-pw", "email": "alice@example.com"}
    )
    assert resp.status == 201
    assert await resp.json() == {"username": "alice", "email": "alice@example.com", "role": "viewer"}

    token = await login(client, "alice", "s3cret-pw")
    resp = await client.get("/auth/me", headers=auth(token))
    assert resp.status == 200
    me = await resp.json()
    assert me["username"] == "alice" and me["role"] == "viewer" and me["created_at"].endswith("Z")


async def test_login_answers_oauth2_shape(client: TestClient) -> None:
    resp = await client.post("/auth/login", data={"username": "demo_user", "password": "demo123"})
    body = await resp.json()
    assert resp.status == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["access_token"].count(".") == 2


async def test_duplicate_username_is_409(client: TestClient) -> None:
    resp = await client.post("/auth/register", json={"username": "demo_user", "password": "whatever1"})
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "username_taken"


async def test_invalid_registration_lists_field_errors(client: TestClient) -> None:
    resp = await client.post("/auth/register", json={"username": "bad name!", "password": "x"})
    assert resp.status == 422
    body = await resp.json()
    fields = {err["field"] for err in body["error"]["fields"]}
    assert body["error"]["code"] == "invalid_payload" and {"username", "password"} <= fields


async def test_invalid_json_is_a_typed_400(client: TestClient) -> None:
    resp = await client.post("/auth/register", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_json"


async def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    wrong = await client.post("/auth/login", data={"username": "demo_user", "password": "nope"})
    unknown = await client.post("/auth/login", data={"username": "ghost", "password": "nope"})
    assert wrong.status == unknown.status == 401
    assert (await wrong.json()) == (await unknown.json())


async def test_me_requires_a_valid_token(client: TestClient) -> None:
    assert (await client.get("/auth/me")).status == 401
    assert (await client.get("/auth/me", headers=auth("not-a-jwt"))).status == 401


async def test_token_of_deleted_user_is_refused(client: TestClient) -> None:
    await client.post("/auth/register", json={"username": "temp", "password": "temp-pass"})
    token = await login(client, "temp", "temp-pass")
    assert (await client.get("/auth/me", headers=auth(token))).status == 200
    await users.delete_user(client.app[SESSIONS_KEY], username="temp")
    assert (await client.get("/auth/me", headers=auth(token))).status == 401


async def test_tokens_signed_otherwise_are_refused(client: TestClient) -> None:
    now = int(time.time())
    claims = {"sub": "demo_admin", "role": "admin", "iat": now, "exp": now + 600}
    key = OctKey.import_key(client.app[SETTINGS_KEY].jwt_secret_key.encode())
    forged = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(DEFAULT_JWT_SECRET.encode()))
    expired = jwt.encode({"alg": "HS256"}, {**claims, "exp": now - 60}, key)
    unsigned = "eyJhbGciOiJub25lIn0." + jwt.encode({"alg": "HS256"}, claims, key).split(".")[1] + "."
    assert (await client.get("/auth/me", headers=auth(jwt.encode({"alg": "HS256"}, claims, key)))).status == 200
    for token in (forged, expired, unsigned):
        assert (await client.get("/auth/me", headers=auth(token))).status == 401
