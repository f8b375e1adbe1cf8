"""A real OpenID Connect provider for the tests, built from authlib's authorization-server parts.

authlib's ``AuthorizationServer`` with its ``AuthorizationCodeGrant``, the
``OpenIDCode`` extension (ID tokens) and ``CodeChallenge`` (PKCE), wrapped in a
small aiohttp app with a discovery document, a JWKS (RS256 keys made here), a
consent page (pick a user, Allow or Deny) and a token endpoint. It listens on
``localhost`` while SafeStream listens on ``127.0.0.1``: to a browser they are
different sites, as a real provider would be.

``tamper`` makes the provider misbehave the way an attacker or a broken
provider would: ``forged_key`` signs ID tokens with a key that is not in the
JWKS (under the published key id), ``wrong_nonce``, ``expired``,
``wrong_audience`` and ``wrong_issuer`` alter those claims. ``names_in_userinfo``
leaves the name out of the ID token, as some providers do, so only the
UserInfo endpoint has it; ``token_500`` makes the token endpoint fail.
"""

from __future__ import annotations

import html
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import KeySet, RSAKey

from tests import processes

CLIENT_ID = "safestream-test"
CLIENT_SECRET = "s3cret-" + "x" * 24


@dataclass
class IdpUser:
    sub: str
    preferred_username: str
    email: str = ""
    groups: list[str] = field(default_factory=list)


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "profile", "email", "groups"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: IdpUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class Request(OAuth2Request):  # type: ignore[misc]
    """authlib's request, from an aiohttp request whose body was read beforehand."""

    def __init__(self, request: web.Request, form: dict[str, str]) -> None:
        super().__init__(request.method, str(request.url), headers=dict(request.headers))
        self._args = dict(request.query)
        self._form = form
        self.payload = BasicOAuth2Payload({**self._args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class Provider:
    def __init__(self) -> None:
        self.port = processes.free_port()
        self.issuer = f"http://localhost:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "idp-key-1", "use": "sig", "alg": "RS256"})
        self.forger = RSAKey.generate_key(2048, parameters={"kid": "idp-key-1", "alg": "RS256"})
        self.users: dict[str, IdpUser] = {}
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.issued: list[Code] = []  # every code handed out, for the tests to inspect
        self.tamper: set[str] = set()
        self.token_requests = 0
        self.access_tokens: dict[str, IdpUser] = {}
        self.server = _server(self)
        self._runner: web.AppRunner | None = None

    def add_client(self, redirect_uri: str) -> None:
        self.clients[CLIENT_ID] = Client(CLIENT_ID, CLIENT_SECRET, [redirect_uri])

    def add_user(self, username: str, *, sub: str | None = None, groups: list[str] | None = None) -> IdpUser:
        user = IdpUser(
            sub=sub or secrets.token_hex(8),
            preferred_username=username,
            email=f"{username}@idp.test",
            groups=groups or [],
        )
        self.users[username] = user
        return user

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._consent_page)
        app.router.add_post("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_get("/userinfo", self._userinfo)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "localhost", self.port).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response(self.discovery())

    async def _jwks(self, request: web.Request) -> web.Response:
        return web.json_response(KeySet([self.key]).as_dict(private=False))

    async def _consent_page(self, request: web.Request) -> web.Response:
        """What a person sees at the provider: who to sign in as, and Allow or Deny."""
        query = html.escape(urlencode(dict(request.query)))
        page = (
            f"<!doctype html><title>Test IdP</title><h1>Test identity provider</h1>"
            f"<form method=post action='/authorize?{query}'>"
            f"<label>Username <input name=username></label>"
            f"<button name=decision value=allow>Allow</button>"
            f"<button name=decision value=deny>Deny</button></form>"
        )
        return web.Response(text=page, content_type="text/html")

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())
        req = Request(request, {k: str(v) for k, v in form.items()})
        user = self.users.get(str(form.get("username", "")))
        if req.payload.data.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="this provider requires PKCE with S256")
        grant = self.server.get_consent_grant(req, end_user=user)
        granted = user if form.get("decision") == "allow" else None
        response: web.Response = self.server.create_authorization_response(req, grant_user=granted, grant=grant)
        return response

    async def _token(self, request: web.Request) -> web.StreamResponse:
        self.token_requests += 1
        if "token_500" in self.tamper:
            return web.Response(status=500, text="internal error")
        form = {k: str(v) for k, v in (await request.post()).items()}
        response: web.Response = self.server.create_token_response(Request(request, form))
        return response

    async def _userinfo(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response(
            {
                "sub": user.sub,
                "preferred_username": user.preferred_username,
                "email": user.email,
                "email_verified": True,
            }
        )


def _server(provider: Provider) -> AuthorizationServer:
    class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code: str, request: Request) -> None:
            data = request.payload.data
            record = Code(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=data["redirect_uri"],
                scope=request.scope,
                user=request.user,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
            )
            provider.codes[code] = record
            provider.issued.append(record)

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            found = provider.codes.get(code)
            return found if found is not None and found.client_id == client.client_id else None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: Code) -> IdpUser:
            return authorization_code.user

    class IdToken(OpenIDCode):  # type: ignore[misc]
        def resolve_client_private_key(self, client: Client) -> RSAKey:
            return provider.forger if "forged_key" in provider.tamper else provider.key

        def get_encode_header(self, client: Client) -> dict[str, str]:
            key = self.resolve_client_private_key(client)
            return {"alg": "RS256", "kid": str(key.kid)}  # real providers name the key

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            now = int(time.time())
            return {
                "iss": "http://evil.test" if "wrong_issuer" in provider.tamper else provider.issuer,
                "aud": ["someone-else"] if "wrong_audience" in provider.tamper else [client.client_id],
                "iat": now - 900 if "expired" in provider.tamper else now,
                "exp": now - 600 if "expired" in provider.tamper else now + 300,
            }

        def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
            claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
            if "wrong_nonce" in provider.tamper:
                claims["nonce"] = "a-nonce-from-another-sign-in"
            return claims

        def exists_nonce(self, nonce: str, request: Request) -> bool:
            return any(code.nonce == nonce for code in provider.codes.values())

        def generate_user_info(self, user: IdpUser, scope: str) -> UserInfo:
            if "names_in_userinfo" in provider.tamper:
                return UserInfo(sub=user.sub)
            return UserInfo(
                sub=user.sub,
                preferred_username=user.preferred_username,
                email=user.email,
                email_verified=True,
                groups=user.groups,
            )

    class Server(AuthorizationServer):  # type: ignore[misc]
        def query_client(self, client_id: str) -> Client | None:
            return provider.clients.get(client_id)

        def save_token(self, token: dict[str, Any], request: Request) -> None:
            provider.access_tokens[token["access_token"]] = request.user  # for /userinfo

        def create_oauth2_request(self, request: Request) -> Request:
            return request

        def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> web.Response:
            # authlib's headers already name the content type.
            text = json.dumps(body) if isinstance(body, dict) else (body or "")
            return web.Response(status=status, body=text.encode(), headers=dict(headers))

        def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
            pass

    server = Server(scopes_supported=["openid", "profile", "email", "groups"])
    server.register_token_generator(
        "default", BearerTokenGenerator(lambda client, grant_type, user, scope: secrets.token_urlsafe(32))
    )
    server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=True)])
    return server
