"""Revocation across processes: a session ended on one process ends on every process."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.test_cluster import (  # noqa: F401 - cluster_env and two_nodes are fixtures
    Node,
    cluster_env,
    connect,
    post,
    token,
    two_nodes,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


async def _me(node: Node, bearer: str) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(node.url + "/auth/me", headers={"Authorization": f"Bearer {bearer}"}) as resp:
            return resp.status


async def test_logout_and_deletion_on_one_process_drop_sockets_on_the_other(two_nodes: tuple[Node, Node]) -> None:
    a, b = two_nodes
    on_b = await connect(b, "demo_user", "demo123")
    doomed = None
    try:
        bearer = await token(a, "demo_user", "demo123")
        assert await _me(b, bearer) == 200
        assert (await post(a, "/auth/logout", {}, bearer)).status == 200
        await asyncio.wait_for(on_b.disconnected.wait(), 5)
        assert await _me(b, bearer) == 401

        async with aiohttp.ClientSession() as http:
            async with http.post(a.url + "/auth/register", json={"username": "doomed", "password": "doomed-1"}) as r:
                assert r.status == 201
        doomed = await connect(b, "doomed", "doomed-1")
        admin = await token(a, "demo_admin", "admin123")
        assert (await post(a, "/api/admin/delete_user", {"username": "doomed"}, admin)).status == 200
        await asyncio.wait_for(doomed.disconnected.wait(), 5)
    finally:
        for rec in (on_b, doomed):
            if rec is not None and rec.sio.connected:
                await rec.sio.disconnect()
