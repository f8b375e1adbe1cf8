"""A server restart as a viewer lives it, in a real browser against a real `safestream serve` process:
told at once, reconnected by itself, missed messages shown in order."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from tests import processes
from tests.browser import MOBILE, PageFactory, expect, open_page, screenshot  # noqa: F401 - fixture
from tests.test_viewer_browser import log_in, message, shown_ids


class Server:
    """`safestream serve` on a fixed port; stopped by PID on every path."""

    def __init__(self, tmp: Path, port: int) -> None:
        self.tmp, self.port = tmp, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        log = open(self.tmp / "server.log", "ab")  # noqa: SIM115 - the process owns it
        env = {"GIFT_INTERVAL_SECS": "3600", "JWT_SECRET_KEY": "restart-test-" + "k" * 32}
        self.proc = processes.serve(self.tmp, self.port, env, stdout=log)
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - started < 60:
                assert self.proc.poll() is None, (self.tmp / "server.log").read_text()
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, processes.free_port())
    yield srv
    srv.stop(signal.SIGKILL)


async def chatter(server: Server) -> tuple[socketio.AsyncClient, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/auth/login", data={"username": "demo_user", "password": "demo123"}) as resp,
    ):
        token = (await resp.json())["access_token"]
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(server.url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
    assert (await sio.call("join", {"stream": "main"}))["ok"]
    return sio, token


@pytest.mark.slow
async def test_restart_is_announced_and_the_client_resumes_in_order(server: Server, open_page: PageFactory) -> None:
    await server.start()
    page = await open_page(MOBILE)
    await page.goto(f"{server.url}/chat/main")
    await log_in(page, "chat_viewer", "viewer789")
    await expect(page.locator("#composer-input")).to_be_enabled()
    sio, _ = await chatter(server)
    for text in ("before 1", "before 2"):
        assert (await sio.call("chat", {"message": text}))["ok"]
    await expect(message(page, "before 2")).to_be_visible()
    await sio.disconnect()

    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    # Told at once, not 20 s later by a timed-out send.
    await expect(page.locator("#conn-banner")).to_be_visible(timeout=3000)
    await expect(page.locator("#composer-input")).to_be_disabled()
    await screenshot(page, "restart-reconnecting.png")
    # How fast the process exits is issue 9's shutdown work (the page reconnects while it drains).
    server.proc.wait(timeout=40)

    await server.start()
    sio, _ = await chatter(server)
    missed = [f"while you were away {i}" for i in range(3)]
    for text in missed:
        assert (await sio.call("chat", {"message": text}))["ok"]
    await sio.disconnect()
    # The page reconnects and rejoins by itself, with `since`, and shows what it missed in order.
    await expect(page.locator("#conn-banner")).to_be_hidden(timeout=10000)
    await expect(message(page, missed[-1])).to_be_visible()
    texts = await page.locator("#messages .msg-text").all_text_contents()
    assert texts == ["before 1", "before 2", *missed]
    ids = await shown_ids(page)
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 5
    await expect(page.locator("#composer-input")).to_be_enabled()
    await screenshot(page, "restart-resumed.png")
