"""Connect-time principals: batched, cached, and never outliving a revocation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from safestream.app_keys import PRINCIPALS_KEY
from safestream.storage import users
from tests.conftest import AppFactory, ClientFactory, auth, login, refusal

USERS = (
    ("demo_user", "demo123"),
    ("chat_viewer", "viewer789"),
    ("demo_admin", "admin123"),
    ("test_streamer", "test456"),
)


async def test_a_storm_of_connects_shares_a_few_queries(make_app: AppFactory, sio_client: ClientFactory) -> None:
    client = await make_app(max_pending_per_ip=100, max_connections_per_ip=100, max_sockets_per_user=10)
    tokens = [await login(client, name, password) for name, password in USERS]
    loader = client.app[PRINCIPALS_KEY]
    before = loader.queries
    clients = await asyncio.gather(
        *(sio_client(token=tokens[i % len(tokens)], join="main", test_client=client) for i in range(24))
    )
    assert all(c.sio.connected for c in clients)
    assert loader.queries - before <= 4, loader.queries - before  # not one per connect
    assert len(loader) == len(USERS)
    # Reconnects within the cache's lifetime read no database at all.
    await clients[0].sio.disconnect()
    again = await sio_client(token=tokens[0], join="main", test_client=client)
    assert again.sio.connected and loader.queries - before <= 4


async def test_a_logout_refuses_the_old_token_even_when_it_was_cached(
    client: TestClient, sio_client: ClientFactory
) -> None:
    token = await login(client, "demo_user", "demo123")
    first = await sio_client(token=token)
    assert first.sio.connected
    resp = await client.post("/auth/logout", headers=auth(token))
    assert resp.status in (200, 204), await resp.text()
    assert await refusal(client, {"token": token}) == {"message": "unauthorized"}
    fresh = await login(client, "demo_user", "demo123")
    assert (await sio_client(token=fresh)).sio.connected


async def test_a_site_ban_refuses_a_cached_principal(client: TestClient, sio_client: ClientFactory) -> None:
    viewer = await login(client, "chat_viewer", "viewer789")
    await sio_client(token=viewer)  # now cached
    admin = await login(client, "demo_admin", "admin123")
    resp = await client.post("/api/admin/ban", json={"username": "chat_viewer", "reason": "spam"}, headers=auth(admin))
    assert resp.status == 200
    assert await refusal(client, {"token": viewer}) == {"message": "banned"}


async def test_the_cache_is_bounded_and_expires(make_app: AppFactory) -> None:
    app = await make_app()
    loader = app.app[PRINCIPALS_KEY]
    loader.max_entries = 2
    for name, _ in USERS:
        assert (await loader.get(name)) is not None
    assert len(loader) == 2
    assert await loader.get("nobody-here") is None and len(loader) == 2  # unknown names are not cached
    loader.ttl = 0.0
    queries = loader.queries
    await loader.get("demo_user")
    await loader.get("demo_user")
    assert loader.queries == queries + 2  # expired at once: each read goes to the database


async def test_a_lookup_racing_a_revocation_is_not_cached(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await make_app()
    loader = app.app[PRINCIPALS_KEY]
    reading, release = asyncio.Event(), asyncio.Event()
    real = users.with_grants

    async def slow_read(*args: Any, **kwargs: Any) -> Any:
        reading.set()
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(users, "with_grants", slow_read)
    pending = asyncio.ensure_future(loader.get("demo_user"))
    await reading.wait()
    loader.invalidate("demo_user")  # a revocation lands while the read is in flight
    release.set()
    assert (await pending) is not None  # this connect was already past its checks
    assert len(loader) == 0  # but the next one reads the database again


async def test_a_bogus_token_is_refused(client: TestClient) -> None:
    assert await refusal(client, {"token": "not-a-jwt"}) == {"message": "unauthorized"}
