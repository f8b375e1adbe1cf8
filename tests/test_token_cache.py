"""Verified tokens are remembered, but never past their expiry and never past a revocation."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient

from safestream.app_keys import TOKENS_KEY
from safestream.auth.tokens import LEEWAY_SECS, TokenService
from safestream.errors import Unauthorized
from tests.conftest import ClientFactory, auth, login, refusal


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    tokens = TokenService("k" * 40, expire_minutes=0)  # exp = now: valid for the leeway only
    token = tokens.issue(username="ann", role="viewer")
    assert tokens.decode(token).username == "ann"  # verified and remembered
    time.sleep(LEEWAY_SECS + 1.1)
    try:
        tokens.decode(token)
    except Unauthorized:
        pass
    else:
        raise AssertionError("an expired token was accepted from the cache")
    assert token not in tokens._verified


def test_the_cache_is_bounded_and_refusals_are_not_remembered() -> None:
    tokens = TokenService("k" * 40, expire_minutes=10, cache_size=3)
    issued = [tokens.issue(username=f"u{i}", role="viewer") for i in range(5)]
    for token in issued:
        tokens.decode(token)
    assert list(tokens._verified) == issued[2:]
    tampered = issued[0][:-2] + ("AA" if not issued[0].endswith("AA") else "BB")
    for _ in range(2):
        try:
            tokens.decode(tampered)
        except Unauthorized:
            continue
        raise AssertionError("a tampered token was accepted")
    assert tampered not in tokens._verified


async def test_a_logout_refuses_a_remembered_token(client: TestClient, sio_client: ClientFactory) -> None:
    token = await login(client, "demo_user", "demo123")
    assert (await sio_client(token=token)).sio.connected
    assert (await client.get("/auth/me", headers=auth(token))).status == 200
    assert token in client.app[TOKENS_KEY]._verified
    resp = await client.post("/auth/logout", headers=auth(token))
    assert resp.status in (200, 204), await resp.text()
    assert await refusal(client, {"token": token}) == {"message": "unauthorized"}
    assert (await client.get("/auth/me", headers=auth(token))).status == 401
