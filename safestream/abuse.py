"""Abuse limits outside the chat path: login and registration throttles, client
addresses behind trusted proxies, and the slow-consumer watchdog.

Login throttles count per client address (every attempt) and per account
(failures only), so a password-guessing run is stopped whether it spreads
over accounts or over addresses, and a user who mistypes twice is not locked
out. Refusals look the same whether or not the account exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import socketio
from aiohttp import web

from safestream.chat.ratelimit import SlidingWindowLimiter
from safestream.errors import RateLimited
from safestream.settings import Settings

log = logging.getLogger(__name__)


def client_ip(request: web.Request, trusted_proxies: tuple[str, ...]) -> str:
    """The peer address, or the client's from X-Forwarded-For when the peer is a trusted proxy."""
    peer = request.remote or "unknown"
    if peer not in trusted_proxies:
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):  # the last address no trusted proxy added is the client
        if hop not in trusted_proxies:
            return hop
    return peer


class Throttles:
    def __init__(self, settings: Settings) -> None:
        self.trusted = settings.trusted_proxies
        self.login_ip = SlidingWindowLimiter(settings.login_attempts_per_ip, 60.0)
        self.login_failures = SlidingWindowLimiter(settings.login_failures_per_account, 600.0)
        self.register_ip = SlidingWindowLimiter(settings.registrations_per_ip, 3600.0)

    def check_login(self, request: web.Request, username: str) -> None:
        if (retry := self.login_ip.check(client_ip(request, self.trusted))) is not None:
            raise RateLimited("too many login attempts; wait a moment", retry_after=retry)
        if self.login_failures.blocked(username.lower()):
            raise RateLimited("too many failed logins for this account; wait a few minutes",
                              retry_after=self.login_failures.retry_after(username.lower()))

    def login_failed(self, username: str) -> None:
        self.login_failures.check(username.lower())

    def check_register(self, request: web.Request) -> None:
        if (retry := self.register_ip.check(client_ip(request, self.trusted))) is not None:
            raise RateLimited("too many accounts created from this address", retry_after=retry)

    def sweep(self) -> None:
        for limiter in (self.login_ip, self.login_failures, self.register_ip):
            limiter.sweep()


class SlowConsumerWatchdog:
    """Drops sockets whose outgoing queue passed ``max_queue`` packets.

    python-socketio queues per client, so a viewer that stopped reading does
    not block the room, but its queue would grow without bound; past the
    bound it is disconnected (it can reconnect and catch up with ``since``).
    """

    def __init__(self, sio: socketio.AsyncServer, *, max_queue: int, interval: float = 0.5) -> None:
        self._sio = sio
        self.max_queue = max_queue
        self.interval = interval
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slow-consumers")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def check(self) -> int:
        slow = [sock for sock in list(self._sio.eio.sockets.values()) if sock.queue.qsize() > self.max_queue]
        for sock in slow:
            log.warning("dropping slow consumer %s (%d packets queued)", sock.sid, sock.queue.qsize())
            self.dropped += 1
            with contextlib.suppress(Exception):
                await sock.close(wait=False, abort=True)
        return len(slow)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # noqa: BLE001 - the watchdog must keep watching
                log.exception("slow-consumer check failed")
