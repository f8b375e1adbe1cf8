"""Faults: the database or Redis unreachable for a while, the moderation backend failing."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from pathlib import Path

import pytest

from safestream.app_keys import SESSIONS_KEY, WRITER_KEY
from safestream.storage.messages import count_messages
from tests import test_cluster
from tests.conftest import POSTGRES_URL, REDIS_URL, AppFactory, ClientFactory, postgres_admin, require_service
from tests.proxy import CuttableProxy

OUTAGE_SECS = float(os.environ.get("SAFESTREAM_TEST_OUTAGE_SECS", "30"))


@pytest.mark.postgres
@pytest.mark.slow
async def test_database_outage_chat_flows_and_writes_catch_up(make_app: AppFactory, sio_client: ClientFactory) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"safestream_fault_{uuid.uuid4().hex[:8]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    proxy = CuttableProxy("127.0.0.1", 5432)
    await proxy.start()
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{name}"
        app = await make_app(database_url=url, rate_limit_per_user=100000)
        sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
        viewer = await sio_client("chat_viewer", "viewer789", join="main", test_client=app)
        await proxy.cut()
        started, sent = time.monotonic(), 0
        while time.monotonic() - started < OUTAGE_SECS:
            ack = await sender.call("chat", {"message": f"during the outage {sent}"})
            assert ack["ok"], ack  # chat keeps flowing
            sent += 1
            if sent == 5:
                health = await app.get("/healthz")
                assert health.status == 503 and (await health.json())["database"] == "down"
            await asyncio.sleep(0.1)
        await viewer.wait_for(lambda: len(viewer.chats()) >= sent)
        assert len(app.app[WRITER_KEY]) == sent  # buffered, within its bound
        await proxy.restore()
        deadline = time.monotonic() + 20
        while len(app.app[WRITER_KEY]) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await count_messages(app.app[SESSIONS_KEY], stream="main") == sent
        assert (await app.get("/healthz")).status == 200
    finally:
        await proxy.close()
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_full_write_buffer_refuses_with_busy(
    make_app: AppFactory, sio_client: ClientFactory, tmp_path: Path
) -> None:
    app = await make_app(write_queue_size=100, rate_limit_per_user=100000)
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    writer = app.app[WRITER_KEY]
    # Stop the flusher so the buffer can only grow, as when the database is down.
    writer._closing = True
    await writer._task
    writer._closing = False  # accept records again, with no one flushing them
    acks = [await sender.call("chat", {"message": f"m{i}"}) for i in range(101)]
    assert all(a["ok"] for a in acks[:100])
    assert acks[100]["error"]["code"] == "busy"


@pytest.mark.parametrize(
    ("backend", "extra"),
    [
        ("tests.failing_scorer:BrokenScorer", {}),
        ("tests.failing_scorer:HangingScorer", {"moderation_timeout_secs": 0.3}),
    ],
)
async def test_moderation_failure_gives_the_configured_verdict(
    make_app: AppFactory,
    sio_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    backend: str,
    extra: dict[str, float],
    tmp_path: Path,
) -> None:
    app = await make_app(moderation=backend, **extra)
    sender = await sio_client("demo_user", "demo123", join="main", test_client=app)
    with caplog.at_level(logging.ERROR, logger="safestream.moderation.engine"):
        ack = await sender.call("chat", {"message": "a perfectly nice message"})
    assert ack["ok"] and ack["action"] == "hold"  # never a silent allow
    assert any("moderation stage" in r.message and "failed" in r.message for r in caplog.records)
    assert (await (await app.get("/metrics")).json())["moderation_failures"] >= 1
    blocking = await make_app(
        moderation=backend,
        moderation_failure_action="block",
        data_dir=tmp_path / "second",
        log_dir=tmp_path / "second-logs",
        **extra,
    )
    other = await sio_client("chat_viewer", "viewer789", join="main", test_client=blocking)
    assert (await other.call("chat", {"message": "hello"}))["action"] == "block"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
async def test_redis_outage_keeps_local_delivery_and_the_cluster_heals(tmp_path: Path) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    proxy = CuttableProxy("127.0.0.1", 6379)
    await proxy.start()
    name = f"safestream_redisfault_{uuid.uuid4().hex[:8]}"
    await postgres_admin(f'CREATE DATABASE "{name}"')
    env = {
        "DATABASE_URL": POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}",
        "REDIS_URL": REDIS_URL.replace("6379", str(proxy.port)),
        "SAFESTREAM_REDIS_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "SAFESTREAM_ARGON2_TIME_COST": "1",
        "SAFESTREAM_ARGON2_MEMORY_KIB": "1024",
        "GIFT_INTERVAL_SECS": "3600",
    }
    a = b = None
    clients = []
    try:
        a, b = await test_cluster._start(tmp_path, env)
        sender = await test_cluster.connect(a, "demo_user", "demo123")
        local = await test_cluster.connect(a, "demo_admin", "admin123")
        remote = await test_cluster.connect(b, "chat_viewer", "viewer789")
        clients = [sender, local, remote]
        await proxy.cut()
        started, n = time.monotonic(), 0
        while time.monotonic() - started < OUTAGE_SECS:
            ack = await sender.call("chat", {"message": f"local {n}"})
            assert ack["ok"], ack
            n += 1
            await asyncio.sleep(0.5)
        assert len([m for m in local.chats() if m["message"].startswith("local ")]) == n
        await proxy.restore()
        deadline = time.monotonic() + 30
        healed = False
        while time.monotonic() < deadline and not healed:
            marker = f"healed {time.monotonic()}"
            await sender.call("chat", {"message": marker})
            await asyncio.sleep(1.0)
            healed = any(m["message"] == marker for m in remote.chats())
        assert healed, "cross-process delivery did not resume after Redis came back"
    finally:
        for rec in clients:
            if rec.sio.connected:
                await rec.sio.disconnect()
        for node in (a, b):
            if node is not None:
                node.stop()
        await proxy.close()
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
