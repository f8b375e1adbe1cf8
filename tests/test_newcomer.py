"""What a newcomer hits first: the start-up banner, quiet logs, the favicon, the protocol document."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests import processes


@pytest.mark.slow
async def test_banner_appears_when_the_server_answers_and_logs_are_quiet(tmp_path: Path) -> None:
    port = processes.free_port()
    proc = processes.serve(tmp_path, port, stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    banner = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "SafeStream is ready" in line:
                banner.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        started = time.monotonic()
        while not banner.is_set() and time.monotonic() - started < 60 and proc.poll() is None:
            await asyncio.sleep(0.05)
        assert banner.is_set(), "".join(lines)
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 200  # at once: no retry loop
        await asyncio.sleep(0.3)  # the rest of the banner
        text = "".join(lines)
        base = f"http://127.0.0.1:{port}"
        for expected in (f"{base}/chat", f"{base}/console", "demo_admin/admin123", "test_streamer/test456"):
            assert expected in text, text
        assert "setup plugin" not in text, text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


async def test_favicon_and_protocol_document(client: TestClient) -> None:
    resp = await client.get("/favicon.ico")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    assert "<svg" in await resp.text()
    docs = await (await client.get("/docs")).text()
    assert 'href="/docs/protocol"' in docs
    protocol = await client.get("/docs/protocol")
    assert protocol.status == 200
    body = await protocol.text()
    assert body.startswith("# SafeStream protocol") and "stream_update" in body


async def test_no_page_requests_a_missing_file(client: TestClient) -> None:
    """Every request the chat, console and docs pages make in Chromium succeeds (no 404s)."""
    from tests.browser import chromium  # without Playwright or Chromium: a skip (under CI=true a failure)

    missing: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page()
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        for path in ("/chat", "/console/login", "/docs"):
            await page.goto(str(client.make_url(path)))
            await page.wait_for_load_state("networkidle")
        # Chromium's own /favicon.ico probe is not always shown to pages: ask for it as a tab would.
        favicon = await page.request.get(str(client.make_url("/favicon.ico")))
        assert favicon.status == 200
    assert missing == []
