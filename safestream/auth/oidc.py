"""The OpenID Connect relying party: discovery, the authorization URL, the code exchange and
the ID token's checks.

authlib's ``AsyncOAuth2Client`` (httpx) builds the authorization URL with the
PKCE S256 challenge and exchanges the code; joserfc (authlib's JOSE library)
verifies the ID token against the provider's JWKS. Discovery and the JWKS are
cached (the JWKS for ``JWKS_TTL_SECS``, so a key the provider withdrew stops
being trusted). A token whose key id we do not know, or whose signature fails
with the cached keys, makes us fetch the JWKS once more: the provider may have
rotated its keys. An attacker cannot use that to hammer the provider: ID
tokens come from the provider's own token endpoint, never from the browser.

Every failure is a ``SignInFailed`` with a code a page can explain; nothing
here raises anything else for bad input from the provider.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from safestream.auth.oidc_settings import OidcSettings
from safestream.errors import SignInFailed

try:  # the HTTP client authlib's httpx integration runs on (httpx is its deprecated fallback)
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older installs
    import httpx

#: Asymmetric algorithms only: an HS256 ID token would be signed with a secret we share.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
LEEWAY_SECS = 60
METADATA_TTL_SECS = 300
JWKS_TTL_SECS = 3600
HTTP_TIMEOUT_SECS = 5.0


def unavailable(message: str) -> SignInFailed:
    return SignInFailed(message, code="oidc_unavailable", status=502)


def bad_token(message: str, reason: str) -> SignInFailed:
    return SignInFailed(message, code="oidc_token", reason=reason)


class OidcClient:
    def __init__(self, config: OidcSettings, *, timeout: float = HTTP_TIMEOUT_SECS) -> None:
        self.config = config
        self._timeout = timeout
        # One client for discovery and the JWKS (no token attached); each code exchange has its own.
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            resp = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise unavailable(f"the identity provider cannot be reached ({what}: {type(exc).__name__})") from exc
        if resp.status_code != 200:
            raise unavailable(f"the identity provider answered {resp.status_code} for its {what}")
        try:
            data = resp.json()
        except ValueError as exc:
            raise unavailable(f"the identity provider's {what} is not JSON") from exc
        if not isinstance(data, dict):
            raise unavailable(f"the identity provider's {what} is not a JSON object")
        return data

    async def metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_SECS:
                return self._metadata
            url = self.config.issuer + "/.well-known/openid-configuration"
            doc = await self._get_json(url, "discovery document")
            # OIDC Discovery 4.3: the document must name exactly the issuer we were configured with.
            if doc.get("issuer") != self.config.issuer:
                raise unavailable(
                    f"the discovery document names issuer {doc.get('issuer')!r}, not {self.config.issuer!r}"
                )
            missing = [
                k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not isinstance(doc.get(k), str)
            ]
            if missing:
                raise unavailable(f"the discovery document lacks {', '.join(missing)}")
            self._metadata, self._metadata_at = doc, time.monotonic()
            return doc

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        meta = await self.metadata()
        async with self._lock:
            if self._keys is None or refresh or time.monotonic() - self._keys_at >= JWKS_TTL_SECS:
                jwks = await self._get_json(meta["jwks_uri"], "key set (JWKS)")
                try:
                    self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as exc:
                    raise unavailable("the identity provider's key set (JWKS) cannot be read") from exc
                self._keys_at = time.monotonic()
            return self._keys

    def _oauth_client(self, auth_method: str | None = None) -> AsyncOAuth2Client:
        config = self.config
        return AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret or None,
            token_endpoint_auth_method=auth_method,
            scope=" ".join(config.scopes),
            redirect_uri=config.redirect_uri,
            code_challenge_method="S256",
            timeout=self._timeout,
        )

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        meta = await self.metadata()
        async with self._oauth_client() as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=state, code_verifier=code_verifier, nonce=nonce
            )
        return str(url)

    def _auth_method(self, meta: dict[str, Any]) -> str:
        if not self.config.client_secret:
            return "none"  # a public client: PKCE alone protects the code
        supported = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return "client_secret_basic" if "client_secret_basic" in supported else "client_secret_post"

    async def exchange(self, *, code: str, code_verifier: str) -> dict[str, Any]:
        """The token endpoint's answer for the code; it must carry an ``id_token``."""
        meta = await self.metadata()
        async with self._oauth_client(self._auth_method(meta)) as client:
            try:
                token = await client.fetch_token(
                    meta["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=self.config.redirect_uri,
                )
            except OAuthError as exc:
                raise bad_token(f"the identity provider refused the sign-in code ({exc.error})", "code") from exc
            except httpx.HTTPError as exc:
                raise unavailable(f"the identity provider cannot be reached (token: {type(exc).__name__})") from exc
            except ValueError as exc:  # a body that is not a token response
                raise unavailable("the identity provider's token answer cannot be read") from exc
        if not isinstance(token.get("id_token"), str):
            raise bad_token("the identity provider sent no ID token (is the openid scope allowed?)", "missing")
        return dict(token)

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims once signature, issuer, audience, times and nonce check out."""
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), algorithms=ALGORITHMS)
            except (InvalidKeyIdError, BadSignatureError):
                # Perhaps rotated keys (a provider that names no ``kid`` fails as a bad signature).
                decoded = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=ALGORITHMS)
        except InvalidKeyIdError as exc:
            raise bad_token(
                "the ID token is signed with a key the identity provider does not publish", "signature"
            ) from exc
        except JoseError as exc:
            raise bad_token("the ID token's signature does not verify", "signature") from exc
        except (ValueError, TypeError) as exc:
            raise bad_token("the ID token cannot be read", "malformed") from exc
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECS,
            iss={"essential": True, "value": self.config.issuer},
            aud={"essential": True, "value": self.config.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise bad_token("the ID token has expired; sign in again", "expired") from exc
        except (InvalidClaimError, MissingClaimError) as exc:
            reason = {"iss": "issuer", "aud": "audience"}.get(exc.claim, exc.claim)
            raise bad_token(f"the ID token's {exc.claim!r} claim is wrong or missing", reason) from exc
        except JoseError as exc:
            raise bad_token("the ID token's claims do not check out", "claims") from exc
        if not isinstance(claims.get("iat"), int | float) or claims["iat"] > time.time() + LEEWAY_SECS:
            raise bad_token("the ID token is issued in the future", "iat")
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.config.client_id:
            raise bad_token("the ID token is meant for another party (azp)", "audience")
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
            raise bad_token("the ID token's nonce does not match this sign-in", "nonce")
        return claims

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        """The UserInfo endpoint's claims, for providers that keep names out of the ID token."""
        meta = await self.metadata()
        url = meta.get("userinfo_endpoint")
        if not isinstance(url, str):
            return {}
        try:
            resp = await self._http.get(
                url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
            )
            data = resp.json() if resp.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            raise unavailable("the identity provider's userinfo cannot be read") from exc
        return data if isinstance(data, dict) else {}
