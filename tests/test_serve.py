"""`safestream serve` as an operator runs it: a real process, from another directory."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from safestream.errors import ConfigError
from safestream.settings import DEFAULT_JWT_SECRET, Settings
from tests import processes


@pytest.mark.slow
async def test_serve_from_any_directory_then_sigterm(tmp_path: Path) -> None:
    port = processes.free_port()
    proc = processes.serve(tmp_path, port, stdout=subprocess.PIPE)
    try:
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            health = None
            while time.monotonic() - started < 30 and proc.poll() is None:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        health = await resp.json()
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            assert health is not None and health["status"] == "ok", proc.stdout.read() if proc.stdout else ""
            async with http.post(
                f"http://127.0.0.1:{port}/auth/login", data={"username": "demo_user", "password": "demo123"}
            ) as resp:
                assert resp.status == 200
            async with http.get(f"http://127.0.0.1:{port}/streams") as resp:
                assert [s["stream"] for s in await resp.json()] == ["main"]
        assert (tmp_path / "data" / "safestream.db").exists()
        assert (tmp_path / "logs").is_dir()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0  # on a timeout the reaper fixture kills it


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/ss").exists() and not Path("/bin/ss").exists(), reason="needs ss (iproute2)")
async def test_serve_listens_with_the_configured_accept_queue(tmp_path: Path) -> None:
    """A reconnect storm overflowed aiohttp's default queue of 128 (load/README.md, "Reconnect storm")."""
    port = processes.free_port()
    proc = processes.serve(tmp_path, port, env={"SAFESTREAM_LISTEN_BACKLOG": "1000"}, stdout=subprocess.PIPE)
    try:
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - started < 30 and proc.poll() is None:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        # For a listening socket, ss shows the accept queue's limit as Send-Q.
        listing = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True)
        send_q = {int(line.split()[2]) for line in listing.stdout.splitlines() if line.strip()}
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
        assert send_q == {min(1000, somaxconn)}, listing.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_production_refuses_weak_secrets() -> None:
    for secret in (DEFAULT_JWT_SECRET, "short"):
        with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
            Settings.from_env({"SAFESTREAM_ENV": "production", "JWT_SECRET_KEY": secret})
    strong = Settings.from_env({"SAFESTREAM_ENV": "production", "JWT_SECRET_KEY": "k" * 40})
    assert strong.seed_demo is False


def test_invalid_values_name_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"APP_PORT": "eighty", "TOXIC_THRESHOLD": "2", "MAX_CONNECTIONS": "-1"})
    assert "APP_PORT" in str(info.value)
    with pytest.raises(ConfigError, match="SAFESTREAM_LISTEN_BACKLOG"):
        Settings.from_env({"SAFESTREAM_LISTEN_BACKLOG": "0"})
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"TOXIC_THRESHOLD": "2", "MAX_CONNECTIONS": "0", "DATABASE_URL": "mysql://x"})
    message = str(info.value)
    assert "TOXIC_THRESHOLD" in message and "MAX_CONNECTIONS" in message and "DATABASE_URL" in message


def test_unknown_moderation_backend_lists_the_available_ones() -> None:
    from safestream.moderation.engine import ModerationEngine

    with pytest.raises(ConfigError, match="available: default, keywords, profanity"):
        ModerationEngine.from_settings(Settings(moderation="nonsense"))


def test_cli_reports_config_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "safestream", "serve"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "APP_PORT": "0"},
        timeout=60,
    )
    assert result.returncode == 2 and "APP_PORT must be between 1 and 65535" in result.stderr
