"""/auth/oidc/*: "Sign in with <provider>" for the viewer client and the console.

``start`` stores a single-use state record (nonce, PKCE verifier, where to go
next, and a hash of a random cookie that binds it to this browser) and sends
the browser to the provider. ``callback`` takes that record (a replayed or
unknown state finds nothing), checks the cookie, exchanges the code, checks the
ID token and signs the account in with the same JWT a password login gives:
the console gets its session cookie; the viewer client gets a one-time
hand-off code in the URL fragment, which ``chat.js`` trades for the token at
``POST /auth/oidc/token`` (so the token itself never appears in a URL).

Errors render as a page for browsers and as JSON for everything else.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib.util
import logging
import re
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from safestream.app_keys import (
    CONSOLE_SESSIONS_KEY,
    GUARD_KEY,
    OIDC_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    THROTTLES_KEY,
    TOKENS_KEY,
)
from safestream.auth.oidc_accounts import OidcAccounts, identity_from_claims, sign_in
from safestream.auth.oidc_state import LocalStore, OneTimeStore, RedisStore
from safestream.auth.roles import Principal
from safestream.auth.routes import check_new_username
from safestream.console.session import CONSOLE_ROLES
from safestream.errors import Busy, ConfigError, NotFound, SafeStreamError, SignInFailed
from safestream.http.docs import documented
from safestream.http.validation import read_json
from safestream.templating import JINJA_KEY, render

if TYPE_CHECKING:
    from safestream.auth.oidc import OidcClient

log = logging.getLogger(__name__)

BIND_COOKIE = "ss_oidc"
STATE_TTL_SECS = 600
HANDOFF_TTL_SECS = 60
_NEXT_RE = re.compile(r"/chat(/[a-z0-9][a-z0-9_-]{0,39})?|/console")


class OidcService:
    def __init__(self, client: OidcClient, store: OneTimeStore) -> None:
        self.client = client
        self.store = store
        self.label = client.config.button_label


class HandoffIn(BaseModel):
    handoff: str = Field(min_length=20, max_length=100)


def _service(request: web.Request) -> OidcService:
    service = request.app.get(OIDC_KEY)
    if service is None:
        raise NotFound("sign-in with an identity provider is not configured here", code="oidc_disabled")
    return service


def _digest(bind: str) -> str:
    return hashlib.sha256(bind.encode()).hexdigest()


def _check_binding(request: web.Request, record: dict[str, Any]) -> None:
    cookie = request.cookies.get(BIND_COOKIE, "")
    if not cookie or not hmac.compare_digest(_digest(cookie), str(record.get("bind", ""))):
        raise SignInFailed(
            "this sign-in was started in another browser (or its cookie is gone); start again",
            code="oidc_state",
            status=400,
        )


def _wants_page(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def _error_page(request: web.Request, exc: SafeStreamError, next_path: str) -> web.Response:
    back = "/console/login" if next_path == "/console" else next_path
    return render(request.app[JINJA_KEY], "auth/oidc_error.html", {"error": exc, "back": back}, status=exc.status)


async def _take(store: OneTimeStore, key: str) -> dict[str, Any] | None:
    try:
        return await store.take(key)
    except RedisError as exc:
        raise Busy("sign-in is unavailable right now; try again shortly", code="oidc_store") from exc


@documented(
    "Start signing in with the identity provider: redirects there",
    tag="auth",
    responses={
        302: "to the provider",
        404: "not configured",
        429: "too many sign-ins from this address",
        502: "the provider cannot be reached",
    },
)
async def start(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    raw_next = request.query.get("next", "/chat")
    next_path = raw_next if _NEXT_RE.fullmatch(raw_next) else "/chat"
    try:
        # Sign-ins share the per-address login budget: a flood of starts cannot push
        # other people's pending states out of the bounded store.
        request.app[THROTTLES_KEY].check_login(request, "")
        # One binding cookie per browser: two tabs signing in at once both succeed.
        bind = request.cookies.get(BIND_COOKIE, "")
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", bind):
            bind = secrets.token_urlsafe(32)
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        url = await service.client.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
        try:
            await service.store.put(
                f"state:{state}",
                {"nonce": nonce, "verifier": verifier, "next": next_path, "bind": _digest(bind)},
                ttl=STATE_TTL_SECS,
            )
        except RedisError as exc:
            raise Busy("sign-in is unavailable right now; try again shortly", code="oidc_store") from exc
    except SafeStreamError as exc:
        if _wants_page(request):
            return _error_page(request, exc, next_path)
        raise
    response = web.Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})
    # Lax, not Strict: the provider's redirect back to the callback is a cross-site navigation.
    response.set_cookie(
        BIND_COOKIE,
        bind,
        httponly=True,
        samesite="Lax",
        path="/auth/oidc",
        max_age=STATE_TTL_SECS,
        secure=request.app[SETTINGS_KEY].production,
    )
    return response


async def _signed_in(request: web.Request, service: OidcService, record: dict[str, Any]) -> Principal:
    query = request.query
    if "error" in query:
        if query["error"] == "access_denied":
            raise SignInFailed(
                f"you did not allow SafeStream to sign you in at {service.label}", code="oidc_denied", status=403
            )
        raise SignInFailed(
            f"{service.label} refused the sign-in ({query['error'][:60]})", code="oidc_denied", status=403
        )
    code = query.get("code", "")
    if not code:
        raise SignInFailed("the identity provider's answer has no code", code="oidc_token", reason="code")
    token = await service.client.exchange(code=code, code_verifier=record["verifier"])
    claims = await service.client.verify_id_token(token["id_token"], nonce=record["nonce"])
    config = service.client.config
    if not isinstance(claims.get(config.username_claim), str) and isinstance(token.get("access_token"), str):
        extra = await service.client.userinfo(token["access_token"])
        if extra.get("sub") == claims["sub"]:  # OIDC Core 5.3.2: userinfo of another subject is ignored
            claims = {**extra, **claims}
    app = request.app
    names = functools.partial(check_new_username, request)
    accounts = OidcAccounts(app[SESSIONS_KEY], app[GUARD_KEY], names, app[SETTINGS_KEY].max_username_length)
    return await sign_in(accounts, identity_from_claims(config, claims))


@documented(
    "The identity provider returns here: checks state and ID token, then signs in",
    tag="auth",
    responses={
        302: "to the chat client (with a hand-off code)",
        200: "console: continue page",
        400: "bad state",
        401: "bad ID token",
        403: "denied",
        502: "provider unreachable",
    },
)
async def callback(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    next_path = "/chat"
    try:
        state = request.query.get("state", "")
        if not state:
            raise SignInFailed("the sign-in answer has no state; start again", code="oidc_state", status=400)
        record = await _take(service.store, f"state:{state}")
        if record is None:
            raise SignInFailed(
                "this sign-in was already used or has expired; start again", code="oidc_state", status=400
            )
        next_path = str(record.get("next", "/chat"))
        _check_binding(request, record)
        principal = await _signed_in(request, service, record)
        return await _finish(request, service, principal, next_path)
    except SafeStreamError as exc:
        log.info("sign-in refused: %s (%s)", exc.code, exc.message)
        if _wants_page(request):
            return _error_page(request, exc, next_path)
        raise


async def _finish(
    request: web.Request, service: OidcService, principal: Principal, next_path: str
) -> web.StreamResponse:
    if next_path == "/console":
        if principal.role not in CONSOLE_ROLES:
            raise SignInFailed(
                f"you are signed in as {principal.username}, a {principal.role.value}: "
                "the console is for moderators, admins and streamers",
                code="console_role",
                status=403,
            )
        # A page of our own, not a redirect: the console cookie is SameSite=Strict, and a
        # browser would not send it on a redirect chain that started at the provider.
        page = render(
            request.app[JINJA_KEY], "auth/oidc_continue.html", {"next": "/console", "username": principal.username}
        )
        request.app[CONSOLE_SESSIONS_KEY].start(page, principal)
        return page
    tokens = request.app[TOKENS_KEY]
    token = tokens.issue(username=principal.username, role=principal.role.value, version=principal.token_version)
    handoff = secrets.token_urlsafe(32)
    try:
        await service.store.put(
            f"handoff:{handoff}",
            {"token": token, "bind": _digest(request.cookies.get(BIND_COOKIE, ""))},
            ttl=HANDOFF_TTL_SECS,
        )
    except RedisError as exc:
        raise Busy("sign-in is unavailable right now; try again shortly", code="oidc_store") from exc
    return web.Response(status=302, headers={"Location": f"{next_path}#signin={handoff}", "Cache-Control": "no-store"})


@documented(
    "Trade the one-time hand-off code from the sign-in redirect for a bearer token",
    tag="auth",
    body=HandoffIn,
    responses={200: "a token", 400: "unknown, used or expired code", 404: "not configured"},
)
async def token(request: web.Request) -> web.Response:
    service = _service(request)
    body = await read_json(request, HandoffIn)
    record = await _take(service.store, f"handoff:{body.handoff}")
    if record is None:
        raise SignInFailed(
            "this sign-in hand-off was already used or has expired; sign in again", code="oidc_state", status=400
        )
    _check_binding(request, record)
    expires_in = request.app[TOKENS_KEY].expire_seconds
    response = web.json_response({"access_token": record["token"], "token_type": "bearer", "expires_in": expires_in})
    response.headers["Cache-Control"] = "no-store"
    return response


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    from safestream.auth.oidc import OidcClient  # lazy: authlib and httpx are the `oidc` extra

    settings = app[SETTINGS_KEY]
    client = OidcClient(settings.oidc)
    store: OneTimeStore = (
        RedisStore(settings.redis_url, prefix=settings.redis_prefix) if settings.redis_url else LocalStore()
    )
    app[OIDC_KEY] = OidcService(client, store)
    yield
    await client.close()
    await store.close()


def configure(app: web.Application) -> None:
    """Part of the app factory: the login pages' button, and the provider's client when sign-in is on."""
    config = app[SETTINGS_KEY].oidc
    # The login pages show the button only when sign-in is configured.
    app[JINJA_KEY].globals["oidc_provider"] = config.button_label if config.enabled else ""
    if config.enabled:
        if importlib.util.find_spec("authlib") is None or not (
            importlib.util.find_spec("httpx2") or importlib.util.find_spec("httpx")
        ):
            raise ConfigError(
                "SAFESTREAM_OIDC_ISSUER is set, but authlib and httpx2 are not installed: "
                "pip install 'safestream[oidc]'"
            )
        app.cleanup_ctx.append(_lifecycle)
