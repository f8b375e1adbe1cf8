"""Who the client is: the peer address, or the first untrusted hop of X-Forwarded-For behind trusted proxies."""

from __future__ import annotations

import functools
import ipaddress

from aiohttp import web


def is_trusted(address: str, trusted_proxies: tuple[str, ...]) -> bool:
    """``address`` is one of the trusted proxies: an exact entry, or inside a CIDR entry
    (``172.28.0.0/16``: a container network, where a proxy's address is not fixed)."""
    if address in trusted_proxies:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in _network(entry) for entry in trusted_proxies if "/" in entry)


@functools.lru_cache(maxsize=64)
def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(entry, strict=False)


def client_ip(request: web.Request, trusted_proxies: tuple[str, ...]) -> str:
    """The peer address, or the client's from X-Forwarded-For when the peer is a trusted proxy."""
    peer = request.remote or "unknown"
    if not is_trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):  # the last address no trusted proxy added is the client
        if not is_trusted(hop, trusted_proxies):
            return hop
    return peer
