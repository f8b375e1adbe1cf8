"""The one error hierarchy: every refusal a client can see carries a code.

HTTP handlers raise these and the error middleware renders them as
``{"error": {"code", "message", ...}}``; socket handlers turn them into
``{"ok": false, "error": {...}}`` acks. Extra fields (``retry_after``,
``until``, field errors) travel in ``extra``.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class SafeStreamError(Exception):
    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class InvalidPayload(SafeStreamError):
    code, status = "invalid_payload", 422


class BadRequest(SafeStreamError):
    code, status = "bad_request", 400


class Unauthorized(SafeStreamError):
    code, status = "unauthorized", 401


class Forbidden(SafeStreamError):
    code, status = "forbidden", 403


class NotFound(SafeStreamError):
    code, status = "not_found", 404


class NoSuchStream(NotFound):
    code = "no_such_stream"

    def __init__(self, slug: str | None) -> None:
        super().__init__(f"no stream named {slug!r}")


class NoSuchUser(NotFound):
    code = "no_such_user"

    def __init__(self, username: str) -> None:
        super().__init__(f"no user named {username!r}")


class Conflict(SafeStreamError):
    code, status = "conflict", 409


class PayloadTooLarge(SafeStreamError):
    code, status = "too_large", 413


class RateLimited(SafeStreamError):
    code, status = "rate_limited", 429

    def __init__(self, message: str = "slow down", *, retry_after: float) -> None:
        super().__init__(message, retry_after=round(retry_after, 3))


class Muted(SafeStreamError):
    code, status = "muted", 403

    def __init__(self, message: str = "you are muted", *, until: str | None) -> None:
        super().__init__(message, until=until)


class Banned(SafeStreamError):
    code, status = "banned", 403


class NotInStream(SafeStreamError):
    code, status = "not_in_stream", 409


class StreamOffline(SafeStreamError):
    """The stream is not live: nobody joins it, chats or sends gifts in it."""

    code, status = "stream_offline", 409


class Refused(SafeStreamError):
    """A chat mode or spam rule refused the message; ``code`` names the rule's reason
    (``duplicate``, ``links_not_allowed``, ``account_too_new``, ...), ``rule`` the rule."""

    code, status = "refused", 403


class Busy(SafeStreamError):
    """The server is shedding load; the client may retry shortly."""

    code, status = "busy", 503


class ShuttingDown(SafeStreamError):
    """This process is stopping: nothing was stored; send it again (to the next server)."""

    code, status = "shutting_down", 503

    def __init__(
        self, message: str = "the server is shutting down; reconnect and send again", *, retry_after: float = 1.0
    ) -> None:
        super().__init__(message, retry_after=round(retry_after, 3))


class SignInFailed(SafeStreamError):
    """Signing in through the identity provider failed; ``code`` names the step:
    ``oidc_state`` (missing, unknown, used or foreign state), ``oidc_denied`` (the user
    declined), ``oidc_token`` (the ID token failed a check; ``reason`` says which),
    ``oidc_unavailable`` (the provider could not be reached, status 502)."""

    code, status = "sign_in_failed", 401


class ConfigError(Exception):
    """Settings that cannot work; raised at start-up with a readable message."""


def error_ack(error: dict[str, Any]) -> dict[str, Any]:
    """A refused socket event's ack: ``{"ok": false, "error": {...}}`` (``SafeStreamError.to_dict``)."""
    return {"ok": False, "error": error}


def failure_ack(exc: BaseException, handler: str, sid: str) -> dict[str, Any]:
    """The ack for a socket handler that raised: its typed error, or ``internal`` (logged) for a bug."""
    if isinstance(exc, SafeStreamError):
        return error_ack(exc.to_dict())
    log.error("%s failed for %s", handler, sid, exc_info=exc)
    return error_ack({"code": "internal", "message": "something went wrong; try again"})
