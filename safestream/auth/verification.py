"""Email verification: a signed, expiring token for (user, address), mailed to the address.

The token is stateless (HMAC over the username, the address and the expiry
with a key derived from the JWT secret), so nothing is stored until the user
proves they read it; it names the address, so a token for an old address does
not verify a new one. Confirming updates the user's open sockets here and,
through the cluster bus, in every process: a stream's verified-email gate
opens without a reconnect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import replace

from safestream.auth.mail import Mailer
from safestream.auth.principals import PrincipalLoader
from safestream.chat.ratelimit import SlidingWindowLimiter
from safestream.cluster import Cluster
from safestream.errors import Conflict, InvalidPayload, RateLimited
from safestream.sio.connections import Connections
from safestream.storage import users
from safestream.storage.db import SessionMaker

TOKEN_TTL_SECS = 24 * 3600


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"safestream-email-verification\n" + secret.encode()).digest()


def make_token(secret: str, username: str, email: str, *, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + TOKEN_TTL_SECS)
    body = f"{username}\n{expires}"
    sig = hmac.new(_key(secret), f"{body}\n{email.lower()}".encode(), hashlib.sha256).digest()
    return (
        base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        + "."
        + base64.urlsafe_b64encode(sig[:20]).decode().rstrip("=")
    )


def check_token(secret: str, token: str) -> tuple[str, int, bytes]:
    try:
        body_part, sig_part = token.split(".", 1)
        body = base64.urlsafe_b64decode(body_part + "=" * (-len(body_part) % 4)).decode()
        sig = base64.urlsafe_b64decode(sig_part + "=" * (-len(sig_part) % 4))
        username, expires_s = body.split("\n", 1)
        expires = int(expires_s)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload("this verification link is not valid", code="invalid_token") from exc
    return username, expires, sig


def token_matches(secret: str, username: str, expires: int, sig: bytes, email: str) -> bool:
    want = hmac.new(_key(secret), f"{username}\n{expires}\n{email.lower()}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(want[:20], sig) and expires >= time.time()


class Verifier:
    """Sends verification mail (at most ``REQUESTS_PER_HOUR`` per user) and confirms tokens."""

    REQUESTS_PER_HOUR = 5

    def __init__(
        self,
        mailer: Mailer,
        *,
        secret: str,
        sessions: SessionMaker,
        cluster: Cluster,
        connections: Connections,
        principals: PrincipalLoader,
    ) -> None:
        self.mailer = mailer
        self.limiter = SlidingWindowLimiter(self.REQUESTS_PER_HOUR, 3600.0)
        self._secret = secret
        self._sessions = sessions
        self._cluster = cluster
        self._connections = connections
        self._principals = principals

    async def request(self, username: str, base_url: str) -> None:
        user = await users.get_user(self._sessions, username=username)
        if user is None or not user.email:
            raise InvalidPayload("add an email address to your account first", code="no_email")
        if user.email_verified_at is not None:
            raise Conflict("your email address is already verified", code="already_verified")
        if (retry := self.limiter.check(username)) is not None:
            raise RateLimited("a verification mail was sent recently", retry_after=retry)
        token = make_token(self._secret, user.username, user.email)
        await self.mailer.send(
            user.email,
            "Verify your SafeStream email address",
            f"Your verification code: {token}\nOr open {base_url}/chat?verify={token}\n",
        )

    async def confirm(self, token: str) -> str:
        username, expires, sig = check_token(self._secret, token)
        user = await users.get_user(self._sessions, username=username)
        if user is None or not user.email or not token_matches(self._secret, username, expires, sig, user.email):
            raise InvalidPayload("this verification link is not valid or has expired", code="invalid_token")
        await users.set_email_verified(self._sessions, username=username)
        self.mark_verified(username)
        await self._cluster.broadcast("email_verified", {"username": username})
        return username

    def mark_verified(self, username: str) -> None:
        """This process's sockets of ``username`` now pass the verified-email gate."""
        self._principals.invalidate(username)
        for conn in self._connections.of_user(username):
            conn.principal = replace(conn.principal, email_verified=True)
