"""Schemathesis against our own /openapi.json on a live server: no 5xx for any generated request."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.test_cluster import Node

pytestmark = pytest.mark.slow


async def test_no_server_errors_for_generated_requests(tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is part of the test extra"
    node = Node(
        tmp_path,
        {
            "SAFESTREAM_ARGON2_TIME_COST": "1",
            "SAFESTREAM_ARGON2_MEMORY_KIB": "1024",
            "SAFESTREAM_REGISTRATIONS_PER_IP": "1000000",
            "SAFESTREAM_LOGIN_ATTEMPTS_PER_IP": "1000000",
            "SAFESTREAM_LOGIN_FAILURES_PER_ACCOUNT": "1000000",
            "GIFT_INTERVAL_SECS": "3600",
        },
    )
    try:
        await node.wait_healthy()
        async with (
            aiohttp.ClientSession() as http,
            http.post(node.url + "/auth/login", data={"username": "demo_admin", "password": "admin123"}) as resp,
        ):
            token = (await resp.json())["access_token"]
        result = subprocess.run(
            [
                st,
                "run",
                f"{node.url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--header",
                f"Authorization: Bearer {token}",
                "--seed",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-4000:]
        assert node.proc.poll() is None, "the server died"
    finally:
        node.stop()
