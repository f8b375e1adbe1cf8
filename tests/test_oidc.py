"""Sign-in through an OpenID Connect provider, over HTTP, against a real provider (authlib's server).

Each test runs the whole dance: ``/auth/oidc/start`` -> the provider's consent
form -> ``/auth/oidc/callback`` -> a SafeStream session, and checks what the
user would notice: signed in as whom, with which role, or refused with which
error. The provider runs in the test's event loop (``tests/oidc_provider.py``).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from safestream.app import create_app
from safestream.auth.oidc_settings import OidcSettings, parse_role_map
from safestream.errors import ConfigError
from safestream.settings import Settings
from tests.conftest import POSTGRES_URL, REDIS_URL, auth, login, postgres_admin, require_service, service_reachable

pytest.importorskip("authlib")
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider

OidcAppFactory = Callable[..., Awaitable[TestClient]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def idp() -> AsyncIterator[Provider]:
    provider = Provider()
    await provider.start()
    yield provider
    await provider.close()


def oidc_settings(idp: Provider, port: int, **overrides: Any) -> OidcSettings:
    values: dict[str, Any] = dict(
        issuer=idp.issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_base=f"http://127.0.0.1:{port}",
        provider_name="Test IdP",
        scopes=("openid", "profile", "email", "groups"),
    )
    values.update(overrides)
    return OidcSettings(**values)


@pytest.fixture
async def oidc_app(aiohttp_client: Any, settings: Settings, idp: Provider) -> OidcAppFactory:
    """The real app on a known port (the redirect URI names it), registered at the provider."""

    async def factory(settings_overrides: dict[str, Any] | None = None, **oidc: Any) -> TestClient:
        port = free_port()
        config = oidc_settings(idp, port, **oidc)
        idp.add_client(config.redirect_uri)
        app = create_app(settings.replace(oidc=config, **(settings_overrides or {})))
        return await aiohttp_client(app, server_kwargs={"port": port})

    return factory


async def to_callback(
    client: TestClient, idp: Provider, username: str, *, next_path: str = "/chat", decision: str = "allow"
) -> str:
    """Start at SafeStream, answer the provider's consent form; the callback URL it sends us back to."""
    start = await client.get("/auth/oidc/start", params={"next": next_path}, allow_redirects=False)
    assert start.status == 302, await start.text()
    authorize = start.headers["Location"]
    assert authorize.startswith(f"{idp.issuer}/authorize?")
    async with aiohttp.ClientSession() as at_idp:
        page = await at_idp.get(authorize)
        assert "Test identity provider" in await page.text()
        consent = await at_idp.post(authorize, data={"username": username, "decision": decision}, allow_redirects=False)
        assert consent.status == 302, await consent.text()
        back = URL(consent.headers["Location"])
    assert str(back).startswith(str(client.make_url("/auth/oidc/callback")))
    return str(back.relative())


async def sign_in(client: TestClient, idp: Provider, username: str) -> dict[str, Any]:
    """A viewer-client sign-in to the end: trades the hand-off for a token; returns /auth/me."""
    resp = await client.get(await to_callback(client, idp, username), allow_redirects=False)
    assert resp.status == 302, await resp.text()
    location = resp.headers["Location"]
    path, _, fragment = location.partition("#signin=")
    assert path == "/chat" and fragment
    traded = await client.post("/auth/oidc/token", json={"handoff": fragment})
    assert traded.status == 200, await traded.text()
    token = (await traded.json())["access_token"]
    me = await client.get("/auth/me", headers=auth(token))
    assert me.status == 200
    return {**await me.json(), "token": token, "handoff": fragment}


async def error_of(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    body = await resp.json()
    return dict(body["error"])


async def test_a_viewer_signs_in_and_gets_the_normal_session(oidc_app: OidcAppFactory, idp: Provider) -> None:
    client = await oidc_app()
    idp.add_user("river", groups=[])
    me = await sign_in(client, idp, "river")
    assert (me["username"], me["role"], me["email"], me["email_verified"]) == (
        "river",
        "viewer",
        "river@idp.test",
        True,
    )
    # PKCE with S256 went through the provider, and the code was redeemed with its verifier.
    assert idp.issued[-1].code_challenge_method == "S256" and idp.issued[-1].nonce
    # The same token a password login gives: the socket accepts it, and chat works.
    import socketio

    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(str(client.make_url("/")), auth={"token": me["token"]}, transports=["websocket"])
    try:
        assert (await sio.call("join", {"stream": "main"}, timeout=10))["ok"]
        ack = await sio.call("chat", {"stream": "main", "message": "hello from the identity provider"}, timeout=20)
        assert ack["ok"], ack
    finally:
        await sio.disconnect()
    # The hand-off is single use.
    again = await client.post("/auth/oidc/token", json={"handoff": me["handoff"]})
    assert again.status == 400 and (await error_of(again))["code"] == "oidc_state"


async def test_a_group_maps_to_moderator_and_opens_the_console(oidc_app: OidcAppFactory, idp: Provider) -> None:
    client = await oidc_app(role_claim="groups", role_map=parse_role_map("chat-mods=moderator,staff=admin"))
    idp.add_user("quinn", groups=["users", "chat-mods"])
    resp = await client.get(await to_callback(client, idp, "quinn", next_path="/console"), allow_redirects=False)
    assert resp.status == 200, await resp.text()
    assert "Signed in as quinn" in await resp.text()
    assert "ss_console" in resp.cookies
    console = await client.get("/console")  # the cookie jar sends the session cookie
    assert console.status == 200 and "/console/login" not in str(console.url)
    assert "quinn" in await console.text()
    # Losing the group at the provider takes the role away at the next sign-in.
    idp.users["quinn"].groups = ["users"]
    me = await sign_in(client, idp, "quinn")
    assert (me["username"], me["role"]) == ("quinn", "viewer")


async def test_a_viewer_is_not_let_into_the_console(oidc_app: OidcAppFactory, idp: Provider) -> None:
    client = await oidc_app(role_claim="groups", role_map=parse_role_map("chat-mods=moderator"))
    idp.add_user("sam", groups=["users"])
    resp = await client.get(await to_callback(client, idp, "sam", next_path="/console"), allow_redirects=False)
    assert resp.status == 403 and (await error_of(resp))["code"] == "console_role"
    assert "ss_console" not in resp.cookies


async def test_the_link_survives_a_rename_and_never_takes_over_a_local_user(
    oidc_app: OidcAppFactory, idp: Provider
) -> None:
    client = await oidc_app()
    user = idp.add_user("alex", sub="sub-alex")
    assert (await sign_in(client, idp, "alex"))["username"] == "alex"
    user.preferred_username = "alexandra"  # renamed at the provider: same sub, same account
    assert (await sign_in(client, idp, "alex"))["username"] == "alex"
    idp.add_user("alex2", sub="sub-other").preferred_username = "alex"  # another person, same name
    assert (await sign_in(client, idp, "alex2"))["username"] == "alex_2"
    # The demo's local chat_viewer keeps its account; the provider's "chat_viewer" gets another one.
    idp.add_user("chat_viewer", sub="sub-cv")
    assert (await sign_in(client, idp, "chat_viewer"))["username"] == "chat_viewer_2"
    token = await login(client, "chat_viewer", "viewer789")
    me = await client.get("/auth/me", headers=auth(token))
    assert (await me.json())["email"] == "chat_viewer@demo.invalid"
    # A reserved name is not shortened into something else that looks official: a neutral name.
    idp.add_user("admin", sub="sub-admin")
    assert (await sign_in(client, idp, "admin"))["username"].startswith("user-")


async def test_a_name_only_in_userinfo_is_fetched_from_there(oidc_app: OidcAppFactory, idp: Provider) -> None:
    client = await oidc_app()
    idp.add_user("uma")
    idp.tamper.add("names_in_userinfo")
    assert (await sign_in(client, idp, "uma"))["username"] == "uma"


async def test_sign_ins_share_the_login_budget_of_an_address(oidc_app: OidcAppFactory) -> None:
    client = await oidc_app(settings_overrides={"login_attempts_per_ip": 2})
    statuses = [(await client.get("/auth/oidc/start", allow_redirects=False)).status for _ in range(3)]
    assert statuses == [302, 302, 429]


async def test_a_deleted_account_signs_in_afresh(oidc_app: OidcAppFactory, idp: Provider) -> None:
    client = await oidc_app()
    idp.add_user("river")
    first = await sign_in(client, idp, "river")
    admin = await login(client, "demo_admin", "admin123")
    resp = await client.post("/api/admin/delete_user", json={"username": "river"}, headers=auth(admin))
    assert resp.status == 200
    assert (await client.get("/auth/me", headers=auth(first["token"]))).status == 401
    again = await sign_in(client, idp, "river")
    assert again["username"] == "river" and again["created_at"] != first["created_at"]


@pytest.mark.postgres
async def test_links_rename_and_deletion_on_postgres(oidc_app: OidcAppFactory, idp: Provider) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"safestream_oidc_{uuid.uuid4().hex[:8]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        client = await oidc_app(settings_overrides={"database_url": POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"})
        user = idp.add_user("river", sub="sub-river")
        assert (await sign_in(client, idp, "river"))["username"] == "river"
        user.preferred_username = "riverine"
        assert (await sign_in(client, idp, "river"))["username"] == "river"
        idp.add_user("chat_viewer")
        assert (await sign_in(client, idp, "chat_viewer"))["username"] == "chat_viewer_2"
        admin = await login(client, "demo_admin", "admin123")
        resp = await client.post("/api/admin/delete_user", json={"username": "river"}, headers=auth(admin))
        assert resp.status == 200
        assert (await sign_in(client, idp, "river"))["username"] == "riverine"  # a new account, today's name
        await client.close()
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("forged_key", "signature"),
        ("wrong_nonce", "nonce"),
        ("expired", "expired"),
        ("wrong_audience", "audience"),
        ("wrong_issuer", "issuer"),
    ],
)
async def test_bad_id_tokens_are_refused(oidc_app: OidcAppFactory, idp: Provider, tamper: str, reason: str) -> None:
    client = await oidc_app()
    idp.add_user("mallory", sub="sub-mallory")
    idp.tamper.add(tamper)
    resp = await client.get(await to_callback(client, idp, "mallory"), allow_redirects=False)
    assert resp.status == 401, await resp.text()
    error = await error_of(resp)
    assert (error["code"], error["reason"]) == ("oidc_token", reason)
    assert idp.token_requests == 1  # the code was exchanged; the token it brought was refused
    # Nobody was signed in or created: an honest sign-in afterwards makes the account fresh.
    idp.tamper.clear()
    assert (await sign_in(client, idp, "mallory"))["username"] == "mallory"


async def test_a_rotated_signing_key_is_picked_up(oidc_app: OidcAppFactory, idp: Provider) -> None:
    from joserfc.jwk import RSAKey

    client = await oidc_app()
    idp.add_user("river")
    await sign_in(client, idp, "river")  # the JWKS is cached now
    idp.key = RSAKey.generate_key(2048, parameters={"kid": "idp-key-2", "use": "sig", "alg": "RS256"})
    assert (await sign_in(client, idp, "river"))["username"] == "river"


async def test_a_failing_token_endpoint_is_a_502(oidc_app: OidcAppFactory, idp: Provider) -> None:
    client = await oidc_app()
    idp.add_user("river")
    idp.tamper.add("token_500")
    resp = await client.get(await to_callback(client, idp, "river"), allow_redirects=False)
    assert resp.status == 502 and (await error_of(resp))["code"] == "oidc_unavailable"


async def test_a_browser_sees_a_page_not_json(oidc_app: OidcAppFactory, idp: Provider) -> None:
    client = await oidc_app()
    idp.add_user("mallory")
    idp.tamper.add("wrong_nonce")
    resp = await client.get(
        await to_callback(client, idp, "mallory"), headers={"Accept": "text/html"}, allow_redirects=False
    )
    assert resp.status == 401 and resp.content_type == "text/html"
    text = await resp.text()
    assert "Sign-in failed" in text and "nonce does not match" in text and 'href="/chat"' in text


async def test_a_state_is_single_use_and_bound_to_the_browser(
    oidc_app: OidcAppFactory, idp: Provider, aiohttp_client: Any
) -> None:
    client = await oidc_app()
    idp.add_user("river")
    callback = await to_callback(client, idp, "river")
    first = await client.get(callback, allow_redirects=False)
    assert first.status == 302
    replay = await client.get(callback, allow_redirects=False)
    assert replay.status == 400 and (await error_of(replay))["code"] == "oidc_state"
    # A callback URL carried to another browser (no binding cookie) is refused, and burnt.
    stolen = await to_callback(client, idp, "river")
    async with aiohttp.ClientSession() as other_browser:
        resp = await other_browser.get(client.make_url(stolen), allow_redirects=False)
        assert resp.status == 400 and (await error_of(resp))["code"] == "oidc_state"
    assert (await client.get(stolen, allow_redirects=False)).status == 400


@pytest.mark.parametrize("query", ["?code=abc", "?code=abc&state=no-such-state", ""])
async def test_a_missing_or_unknown_state_is_refused(oidc_app: OidcAppFactory, query: str) -> None:
    client = await oidc_app()
    resp = await client.get(f"/auth/oidc/callback{query}", allow_redirects=False)
    assert resp.status == 400 and (await error_of(resp))["code"] == "oidc_state"


async def test_declined_consent_is_explained(oidc_app: OidcAppFactory, idp: Provider) -> None:
    client = await oidc_app()
    idp.add_user("river")
    resp = await client.get(await to_callback(client, idp, "river", decision="deny"), allow_redirects=False)
    error = await error_of(resp)
    assert resp.status == 403 and error["code"] == "oidc_denied" and "Test IdP" in error["message"]


async def test_an_unreachable_provider_is_a_502_page(aiohttp_client: Any, settings: Settings) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = OidcSettings(issuer=dead, client_id="x", redirect_base="http://127.0.0.1:1", provider_name="Down")
    client = await aiohttp_client(create_app(settings.replace(oidc=config)))
    resp = await client.get("/auth/oidc/start")
    assert resp.status == 502 and (await error_of(resp))["code"] == "oidc_unavailable"
    page = await client.get("/auth/oidc/start", headers={"Accept": "text/html"})
    assert page.status == 502 and "cannot be reached" in await page.text()


async def test_login_pages_show_the_button_only_when_configured(oidc_app: OidcAppFactory, client: TestClient) -> None:
    assert "Sign in with" not in await (await client.get("/chat")).text()
    assert "Sign in with" not in await (await client.get("/console/login")).text()
    off = await client.get("/auth/oidc/start", allow_redirects=False)
    assert off.status == 404 and (await error_of(off))["code"] == "oidc_disabled"
    on = await oidc_app()
    assert "Sign in with Test IdP" in await (await on.get("/chat")).text()
    assert "Sign in with Test IdP" in await (await on.get("/console/login")).text()


@pytest.mark.redis
async def test_state_lives_in_redis_when_configured(oidc_app: OidcAppFactory, idp: Provider, tmp_path: Path) -> None:
    host, port = URL(REDIS_URL).host or "127.0.0.1", URL(REDIS_URL).port or 6379
    if not service_reachable(host, port):
        pytest.skip("Redis is not reachable")
    client = await oidc_app(settings_overrides={"redis_url": REDIS_URL, "redis_prefix": f"t{free_port()}"})
    idp.add_user("river")
    callback = await to_callback(client, idp, "river")
    assert (await client.get(callback, allow_redirects=False)).status == 302
    assert (await client.get(callback, allow_redirects=False)).status == 400


def test_settings_refuse_an_incomplete_configuration() -> None:
    with pytest.raises(ConfigError, match="SAFESTREAM_OIDC_CLIENT_ID is required"):
        Settings.from_env(
            {
                "SAFESTREAM_OIDC_ISSUER": "https://idp.example.com",
                "SAFESTREAM_OIDC_REDIRECT_BASE": "https://chat.example.com",
            }
        )
    with pytest.raises(ConfigError, match="not a role"):
        Settings.from_env({"SAFESTREAM_OIDC_ROLE_MAP": "mods=boss"})
    with pytest.raises(ConfigError, match="must use https in production"):
        Settings.from_env(
            {
                "SAFESTREAM_ENV": "production",
                "JWT_SECRET_KEY": "k" * 40,
                "SAFESTREAM_OIDC_ISSUER": "http://idp.example.com",
                "SAFESTREAM_OIDC_CLIENT_ID": "c",
                "SAFESTREAM_OIDC_REDIRECT_BASE": "https://chat.example.com",
            }
        )
    assert not Settings.from_env({}).oidc.enabled
