"""JWTs (HS256) carrying the username, role and token version, via joserfc (authlib's successor).

``ver`` is the user's token version when the token was issued; the guard
refuses a token whose version is older than the account's (revoked by
logout, a password or role change, a ban). Tokens without ``ver`` count as
version 0, so tokens issued before versions existed last until revoked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from safestream.errors import Unauthorized

ALGORITHM = "HS256"
LEEWAY_SECS = 5
#: Verified tokens remembered (each is one open socket's or tab's; the oldest go first).
VERIFIED_CACHE_SIZE = 50_000
#: The console's session cookie: it carries one of these tokens (the console sets it, the socket reads it).
SESSION_COOKIE = "ss_console"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    role: str
    issued_at: int
    expires_at: int
    version: int = 0


class TokenService:
    """Issues and verifies tokens; a verified token's claims are remembered until it expires.

    Verification is a pure function of the token, the key and the clock: the
    signature and the claims never change, and of the time checks only ``exp``
    can turn a valid token invalid (``nbf``/``iat`` only refuse tokens from the
    future). So a token seen before skips the signature and parsing (a socket's
    reconnects, a user's tabs), and ``exp`` is checked again on every hit.
    Whether the session still stands (revocation, bans) is not a property of
    the token: the guard checks that on every connect, cached here or not.
    """

    def __init__(self, secret: str, *, expire_minutes: int, cache_size: int = VERIFIED_CACHE_SIZE) -> None:
        self._key = OctKey.import_key(secret.encode())
        self.expire_seconds = expire_minutes * 60
        self.cache_size = cache_size
        self._verified: dict[str, TokenClaims] = {}

    def issue(self, *, username: str, role: str, version: int = 0) -> str:
        now = int(time.time())
        claims = {
            "sub": username,
            "role": role,
            "ver": version,
            "iat": now,
            "nbf": now,
            "exp": now + self.expire_seconds,
        }
        return jwt.encode({"alg": ALGORITHM, "typ": "JWT"}, claims, self._key, algorithms=[ALGORITHM])

    def decode(self, token: str) -> TokenClaims:
        """Verifies signature (HS256 only: ``alg=none`` and others are refused) and times."""
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at > time.time() - LEEWAY_SECS:
                return known
            del self._verified[token]  # expired: the full check below says so
        claims = self._verify(token)
        if self.cache_size > 0:
            if len(self._verified) >= self.cache_size:
                del self._verified[next(iter(self._verified))]  # the oldest (dicts keep insertion order)
            self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> TokenClaims:
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECS,
                sub={"essential": True},
                exp={"essential": True},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise Unauthorized("invalid or expired token") from exc
        claims = decoded.claims
        username, role = claims.get("sub"), claims.get("role")
        version = claims.get("ver", 0)
        if not isinstance(username, str) or not isinstance(role, str) or type(version) is not int:
            raise Unauthorized("invalid token claims")
        return TokenClaims(
            username=username,
            role=role,
            issued_at=int(claims.get("iat", 0)),
            expires_at=int(claims["exp"]),
            version=version,
        )
