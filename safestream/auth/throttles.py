"""Login and registration throttles.

Login throttles count every attempt per client address, and failures per
(account, address): a guessing run from one address is stopped, while the
owner, logging in from any other address, is not locked out by it. Only
failures from many distinct addresses (``login_failure_sources_per_account``,
100 by default) lock an account for everyone, since no single source can
cause that. Refusals look the same whether or not the account exists.
"""

from __future__ import annotations

import ipaddress
import time

from aiohttp import web

from safestream.chat.ratelimit import SlidingWindowLimiter
from safestream.errors import RateLimited
from safestream.http.client_ip import client_ip
from safestream.settings import Settings

LOGIN_FAILURE_WINDOW = 600.0


def throttle_key(address: str) -> str:
    """The unit a throttle counts: an IPv4 address, or an IPv6 /64 (one subscriber's
    network), since one host can rotate through the addresses of its /64 at will."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:203.0.113.9 is that IPv4 address
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


class Throttles:
    def __init__(self, settings: Settings) -> None:
        self.trusted = settings.trusted_proxies
        self.login_ip = SlidingWindowLimiter(settings.login_attempts_per_ip, 60.0)
        #: Failures keyed by (account, address).
        self.login_failures = SlidingWindowLimiter(settings.login_failures_per_account, LOGIN_FAILURE_WINDOW)
        self.max_sources = settings.login_failure_sources_per_account
        #: account -> {address: time of its latest failure}, at most ``max_sources`` addresses each.
        self._sources: dict[str, dict[str, float]] = {}
        self.register_ip = SlidingWindowLimiter(settings.registrations_per_ip, 3600.0)

    @staticmethod
    def _pair(ip: str, username: str) -> str:
        return f"{username.lower()}\x00{ip}"

    def check_login(self, request: web.Request, username: str) -> None:
        ip = throttle_key(client_ip(request, self.trusted))
        if (retry := self.login_ip.check(ip)) is not None:
            raise RateLimited("too many login attempts; wait a moment", retry_after=retry)
        pair = self._pair(ip, username)
        if self.login_failures.blocked(pair):
            raise RateLimited(
                "too many failed logins for this account; wait a few minutes",
                retry_after=self.login_failures.retry_after(pair),
            )
        if (retry := self._distributed_lock(username.lower())) is not None:
            raise RateLimited("too many failed logins for this account; wait a few minutes", retry_after=retry)

    def login_failed(self, request: web.Request, username: str) -> None:
        ip = throttle_key(client_ip(request, self.trusted))
        self.login_failures.check(self._pair(ip, username))
        sources = self._sources.setdefault(username.lower(), {})
        if ip in sources or len(sources) < self.max_sources:
            sources[ip] = time.monotonic()

    def _distributed_lock(self, account: str) -> float | None:
        """Seconds left when failures came from ``max_sources`` distinct addresses in the window."""
        sources = self._sources.get(account)
        if not sources:
            return None
        cutoff = time.monotonic() - LOGIN_FAILURE_WINDOW
        for ip in [ip for ip, at in sources.items() if at <= cutoff]:
            del sources[ip]
        if len(sources) < self.max_sources:
            return None
        return max(min(sources.values()) - cutoff, 0.001)

    def check_register(self, request: web.Request) -> None:
        if (retry := self.register_ip.check(throttle_key(client_ip(request, self.trusted)))) is not None:
            raise RateLimited("too many accounts created from this address", retry_after=retry)

    def sweep(self) -> None:
        for limiter in (self.login_ip, self.login_failures, self.register_ip):
            limiter.sweep()
        cutoff = time.monotonic() - LOGIN_FAILURE_WINDOW
        for account in [a for a, sources in self._sources.items() if max(sources.values(), default=0) <= cutoff]:
            del self._sources[account]
