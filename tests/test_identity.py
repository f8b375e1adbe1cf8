"""Who a user is: names that cannot impersonate, login throttles nobody else can trip,
sessions that end when they should (HTTP, console cookie, open sockets)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey

from safestream.app_keys import SESSIONS_KEY, SETTINGS_KEY
from safestream.errors import Conflict
from safestream.storage import users
from tests.conftest import AppFactory, ClientFactory, auth, login, refusal
from tests.test_console import console_login, console_socket


async def register(client: TestClient, username: str, password: str = "password-1") -> Any:
    resp = await client.post("/auth/register", json={"username": username, "password": password})
    return resp.status, await resp.json()


# --- 2. impersonation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["chat_viewer\n", "chat_viewer\r\n", "chat_viewer ", " chat_viewer", "chat\u200bviewer", "chat_viewer\x00"]
)
async def test_look_alike_names_of_a_real_user_are_refused(client: TestClient, name: str) -> None:
    status, body = await register(client, name)
    assert status == 422, body
    # A NUL is refused for any text field before validation (invalid_text); the rest name the field.
    assert (
        body["error"]["code"] == "invalid_text" if "\x00" in name else body["error"]["fields"][0]["field"] == "username"
    )


@pytest.mark.parametrize("name", ["Chat_Viewer", "DEMO_USER", "demo_User", "TEST_streamer"])
async def test_usernames_are_unique_regardless_of_case(client: TestClient, name: str) -> None:
    status, body = await register(client, name)
    assert status == 409 and body["error"]["code"] == "username_taken"


async def test_the_database_refuses_a_case_variant_too(client: TestClient) -> None:
    with pytest.raises(Conflict):
        await users.create_user(client.app[SESSIONS_KEY], username="Demo_Admin", password_hash="x")


@pytest.mark.parametrize(
    "name",
    [
        "admin",
        "Admin",
        "adm1n",
        "ADMIN_",
        "real_admin",
        "sysadmin",
        "bot",
        "Bot_2",
        "system",
        "System-1",
        "automod",
        "AutoMod",
        "moderator",
        "the.moderator",
        "m0derator",
        "safestream",
        "root",
    ],
)
async def test_reserved_names_are_refused(client: TestClient, name: str) -> None:
    status, body = await register(client, name)
    assert status == 422 and body["error"]["code"] == "username_reserved", body


@pytest.mark.parametrize("name", ["fuck_you", "ShitHead99", "kill.yourself", "bitch_boy"])
async def test_names_the_moderation_chain_scores_toxic_are_refused(client: TestClient, name: str) -> None:
    status, body = await register(client, name)
    assert status == 422 and body["error"]["code"] == "username_refused", body


@pytest.mark.parametrize(
    "name", ["alice", "Scunthorpe_fan", "model_maker", "ecosystem", "bob.smith-2", "reg_one", "reg_two"]
)
async def test_ordinary_names_still_register(client: TestClient, name: str) -> None:
    status, body = await register(client, name)
    assert status == 201 and body["username"] == name


async def test_a_console_ban_on_a_name_with_a_newline_never_hits_the_real_user(client: TestClient) -> None:
    csrf = await console_login(client)
    resp = await client.post(
        "/console/s/main/users/ban",
        data={"username": "chat_viewer\n", "csrf_token": csrf},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status == 404
    viewer = await login(client, "chat_viewer", "viewer789")
    assert (await client.get("/auth/me", headers=auth(viewer))).status == 200  # not banned


async def test_stream_names_and_emails_must_match_whole(client: TestClient, sio_client: ClientFactory) -> None:
    rec = await sio_client("demo_user", "demo123")
    ack = await rec.call("join", {"stream": "main\n"})
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_stream"
    streamer = await login(client, "test_streamer", "test456")
    resp = await client.post("/api/streams", json={"stream": "show\n"}, headers=auth(streamer))
    assert resp.status == 422
    resp = await client.post(
        "/auth/register", json={"username": "emailer", "password": "password-1", "email": "a@b.example\n"}
    )
    assert resp.status == 422


async def test_policy_terms_with_line_breaks_are_refused(client: TestClient) -> None:
    admin = await login(client, "demo_admin", "admin123")
    resp = await client.put(
        "/api/streams/main/policy", headers=auth(admin), json={"levels": [], "blocked_terms": ["spam\nham"]}
    )
    assert resp.status == 422


# --- 8. login throttles ----------------------------------------------------------------------


def xff(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(make_app: AppFactory) -> None:
    app = await make_app(trusted_proxies=("127.0.0.1",), login_failures_per_account=3, login_attempts_per_ip=50)
    for _ in range(3):
        bad = await app.post(
            "/auth/login", data={"username": "demo_admin", "password": "guess"}, headers=xff("203.0.113.9")
        )
        assert bad.status == 401
    locked = await app.post(
        "/auth/login", data={"username": "demo_admin", "password": "admin123"}, headers=xff("203.0.113.9")
    )
    assert locked.status == 429  # the attacker's address is throttled for this account...
    owner = await app.post(
        "/auth/login", data={"username": "demo_admin", "password": "admin123"}, headers=xff("198.51.100.7")
    )
    assert owner.status == 200  # ...the owner, from an address that has not failed, is not
    other = await app.post(
        "/auth/login", data={"username": "demo_user", "password": "demo123"}, headers=xff("203.0.113.9")
    )
    assert other.status == 200  # and the attacker's address is throttled per account, not for every account


async def test_one_address_cannot_lock_many_accounts(make_app: AppFactory) -> None:
    app = await make_app(trusted_proxies=("127.0.0.1",), login_failures_per_account=2, login_attempts_per_ip=100)
    victims = {"demo_user": "demo123", "chat_viewer": "viewer789", "test_streamer": "test456", "demo_admin": "admin123"}
    for name in victims:
        for _ in range(5):
            await app.post("/auth/login", data={"username": name, "password": "x"}, headers=xff("203.0.113.66"))
    for i, (name, password) in enumerate(victims.items()):
        ok = await app.post(
            "/auth/login", data={"username": name, "password": password}, headers=xff(f"198.51.100.{i + 1}")
        )
        assert ok.status == 200, name


async def test_an_account_is_locked_for_all_only_by_many_distinct_addresses(make_app: AppFactory) -> None:
    app = await make_app(trusted_proxies=("127.0.0.1",), login_failure_sources_per_account=5)
    for i in range(4):
        await app.post("/auth/login", data={"username": "demo_user", "password": "x"}, headers=xff(f"10.0.0.{i}"))
    ok = await app.post("/auth/login", data={"username": "demo_user", "password": "demo123"}, headers=xff("10.9.9.9"))
    assert ok.status == 200
    await app.post("/auth/login", data={"username": "demo_user", "password": "x"}, headers=xff("10.0.0.99"))
    locked = await app.post(
        "/auth/login", data={"username": "demo_user", "password": "demo123"}, headers=xff("10.9.9.8")
    )
    assert locked.status == 429


async def test_forwarded_for_is_ignored_from_untrusted_peers_and_cidr_proxies_work(make_app: AppFactory) -> None:
    app = await make_app(login_failures_per_account=2)  # no trusted proxy: X-Forwarded-For is the client's word
    for i in range(2):
        await app.post("/auth/login", data={"username": "demo_user", "password": "x"}, headers=xff(f"10.1.0.{i}"))
    spoofed = await app.post(
        "/auth/login", data={"username": "demo_user", "password": "demo123"}, headers=xff("10.1.0.200")
    )
    assert spoofed.status == 429
    cidr = await make_app(trusted_proxies=("127.0.0.0/8",), login_failures_per_account=2)
    for _ in range(2):
        await cidr.post("/auth/login", data={"username": "demo_user", "password": "x"}, headers=xff("10.2.0.1"))
    ok = await cidr.post("/auth/login", data={"username": "demo_user", "password": "demo123"}, headers=xff("10.2.0.2"))
    assert ok.status == 200


# --- 14. revocation --------------------------------------------------------------------------


async def test_logout_revokes_the_bearer_token_and_its_sockets(client: TestClient, sio_client: ClientFactory) -> None:
    token = await login(client, "demo_user", "demo123")
    rec = await sio_client(token=token, join="main")
    assert (await client.post("/auth/logout", headers=auth(token))).status == 200
    await asyncio.wait_for(rec.disconnected.wait(), 5)
    me = await client.get("/auth/me", headers=auth(token))
    assert me.status == 401 and (await me.json())["error"]["code"] == "session_ended"
    assert await refusal(client, {"token": token}) == {"message": "unauthorized"}
    fresh = await login(client, "demo_user", "demo123")  # logging in again works
    assert (await client.get("/auth/me", headers=auth(fresh))).status == 200


async def test_console_logout_kills_the_cookie_and_its_token(client: TestClient) -> None:
    csrf = await console_login(client)
    from safestream.console.session import SESSION_COOKIE

    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    live = await console_socket(client)
    resp = await client.post("/console/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert resp.status == 302
    await asyncio.wait_for(live.disconnected.wait(), 5)
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie})  # an attacker kept a copy
    page = await client.get("/console/s/main", allow_redirects=False)
    assert page.status in (302, 401)
    assert (await client.get("/auth/me", headers=auth(cookie))).status == 401
    assert await refusal(client, {"token": cookie}) == {"message": "unauthorized"}


async def test_password_change_revokes_old_tokens(client: TestClient, sio_client: ClientFactory) -> None:
    await register(client, "pw_user", "first-pass")
    old = await login(client, "pw_user", "first-pass")
    rec = await sio_client(token=old, join="main")
    wrong = await client.post(
        "/auth/password", headers=auth(old), json={"current_password": "nope", "new_password": "second-pass"}
    )
    assert wrong.status == 401
    resp = await client.post(
        "/auth/password", headers=auth(old), json={"current_password": "first-pass", "new_password": "second-pass"}
    )
    assert resp.status == 200
    new = (await resp.json())["access_token"]
    await asyncio.wait_for(rec.disconnected.wait(), 5)
    assert (await client.get("/auth/me", headers=auth(old))).status == 401
    assert (await client.get("/auth/me", headers=auth(new))).status == 200
    assert (await client.post("/auth/login", data={"username": "pw_user", "password": "first-pass"})).status == 401
    await login(client, "pw_user", "second-pass")


async def test_a_site_ban_revokes_tokens_for_good(client: TestClient) -> None:
    viewer = await login(client, "chat_viewer", "viewer789")
    admin = await login(client, "demo_admin", "admin123")
    assert (await client.post("/api/admin/ban", json={"username": "chat_viewer"}, headers=auth(admin))).status == 200
    assert (await client.post("/api/admin/unban", json={"username": "chat_viewer"}, headers=auth(admin))).status == 200
    assert (await client.get("/auth/me", headers=auth(viewer))).status == 401
    await login(client, "chat_viewer", "viewer789")


async def test_a_token_of_a_deleted_account_does_not_open_a_namesake(client: TestClient) -> None:
    await register(client, "reborn")
    old = await login(client, "reborn", "password-1")
    await users.delete_user(client.app[SESSIONS_KEY], username="reborn")
    await asyncio.sleep(1.1)  # the namesake is created in a later second than the token was issued
    assert (await register(client, "reborn"))[0] == 201
    assert (await client.get("/auth/me", headers=auth(old))).status == 401


async def test_tokens_signed_with_the_published_default_secret_are_refused(make_app: AppFactory) -> None:
    from safestream.settings import DEFAULT_JWT_SECRET

    app = await make_app(env="development", jwt_secret_key="")
    now = int(time.time())
    claims = {"sub": "demo_admin", "role": "admin", "iat": now, "exp": now + 600}
    forged = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(DEFAULT_JWT_SECRET.encode()))
    assert (await app.get("/auth/me", headers=auth(forged))).status == 401
    assert app.app[SETTINGS_KEY].jwt_secret_key not in ("", DEFAULT_JWT_SECRET)


# --- 15. open sockets follow role changes, deletions and bans ---------------------------------


async def test_a_demoted_moderator_loses_the_console_at_once(client: TestClient) -> None:
    admin = await login(client, "demo_admin", "admin123")
    await register(client, "mod_demo")
    await client.post("/api/admin/role", json={"username": "mod_demo", "role": "moderator"}, headers=auth(admin))
    await console_login(client, "mod_demo", "password-1")
    live = await console_socket(client)
    resp = await client.post("/api/admin/role", json={"username": "mod_demo", "role": "viewer"}, headers=auth(admin))
    assert resp.status == 200
    await asyncio.wait_for(live.disconnected.wait(), 5)
    assert (await client.get("/console/s/main", allow_redirects=False)).status in (302, 401)


async def test_a_socket_that_missed_the_drop_is_rechecked_on_console_events(client: TestClient) -> None:
    admin = await login(client, "demo_admin", "admin123")
    await register(client, "mod_race")
    await client.post("/api/admin/role", json={"username": "mod_race", "role": "moderator"}, headers=auth(admin))
    await console_login(client, "mod_race", "password-1")
    live = await console_socket(client)
    # The role changes behind the socket's back (another process, a race with the connect).
    await users.set_role(client.app[SESSIONS_KEY], username="mod_race", role="viewer")
    # The socket is dropped before it could be answered: either no ack or a refusal, never ok.
    try:
        ack = await live.call("console_join", {"stream": "main"}, timeout=3)
    except socketio.exceptions.SocketIOError:
        ack = None
    assert ack is None or ack["ok"] is False
    await asyncio.wait_for(live.disconnected.wait(), 5)


async def test_a_deleted_accounts_socket_is_closed_and_cannot_chat(
    client: TestClient, sio_client: ClientFactory
) -> None:
    admin = await login(client, "demo_admin", "admin123")
    await register(client, "short_lived")
    rec = await sio_client("short_lived", "password-1", join="main")
    assert (await rec.call("chat", {"message": "hello"}))["ok"]
    resp = await client.post("/api/admin/delete_user", json={"username": "short_lived"}, headers=auth(admin))
    assert resp.status == 200
    await asyncio.wait_for(rec.disconnected.wait(), 5)
    assert rec.of("kicked")[-1]["reason"] == "account deleted"
    assert not rec.sio.connected


async def test_admins_cannot_demote_or_delete_themselves(client: TestClient) -> None:
    admin = await login(client, "demo_admin", "admin123")
    for path, body in (
        ("/api/admin/role", {"username": "demo_admin", "role": "viewer"}),
        ("/api/admin/delete_user", {"username": "demo_admin"}),
    ):
        resp = await client.post(path, json=body, headers=auth(admin))
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "self_action"


# --- 27. login with JSON ---------------------------------------------------------------------


async def test_login_accepts_json_as_well_as_the_form(client: TestClient) -> None:
    resp = await client.post("/auth/login", json={"username": "demo_user", "password": "demo123"})
    assert resp.status == 200 and (await resp.json())["token_type"] == "bearer"
    bad = await client.post("/auth/login", json={"username": "demo_user", "password": "nope"})
    assert bad.status == 401
    spec = await (await client.get("/openapi.json")).json()
    content = spec["paths"]["/auth/login"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(content)


async def test_ipv6_addresses_of_one_network_count_as_one_source(make_app: AppFactory) -> None:
    app = await make_app(
        trusted_proxies=("127.0.0.1",), login_failures_per_account=2, login_failure_sources_per_account=3
    )
    for i in range(6):  # one host rotating through its /64 is one source, not six
        await app.post(
            "/auth/login", data={"username": "demo_user", "password": "x"}, headers=xff(f"2001:db8:1:2::{i + 1:x}")
        )
    rotated = await app.post(
        "/auth/login", data={"username": "demo_user", "password": "demo123"}, headers=xff("2001:db8:1:2::ff")
    )
    assert rotated.status == 429
    owner = await app.post(
        "/auth/login", data={"username": "demo_user", "password": "demo123"}, headers=xff("2001:db8:9:9::1")
    )
    assert owner.status == 200


async def test_a_revocation_landing_while_a_socket_authenticates_refuses_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safestream.app_keys import GUARD_KEY, REVOCATION_KEY

    token = await login(client, "demo_user", "demo123")
    guard = client.app[GUARD_KEY]
    real = guard.from_token

    async def revoked_meanwhile(raw: str, **kwargs: Any) -> Any:
        principal = await real(raw, **kwargs)  # valid when read...
        revocation = client.app[REVOCATION_KEY]
        await revocation.end_sessions(username=principal.username, reason="signed out")  # ...ended now
        return principal

    monkeypatch.setattr(guard, "from_token", revoked_meanwhile)
    assert await refusal(client, {"token": token}) == {"message": "unauthorized"}


@pytest.mark.parametrize(
    "name",
    [
        "demo.user",
        "demouser",
        "Demo-User",
        "dem0_user",
        "chat_vlewer",
        "chat_vIewer",
        "chat_viewer_",
        "test_strearner",
        "chat__viewer",
    ],
)
async def test_names_that_only_look_like_an_existing_one_are_refused(client: TestClient, name: str) -> None:
    status, body = await register(client, name)
    assert status == 409 and body["error"]["code"] == "username_taken", body
