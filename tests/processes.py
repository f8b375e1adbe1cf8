"""Server processes started by tests, and the guarantee that none outlives its test.

Every process a test starts goes through ``spawn``; the autouse fixture in
``conftest.py`` kills (SIGKILL, by PID) whatever is still running when the
test ends, whether it passed, failed or timed out waiting for an exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

_started: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    """A port nothing listens on right now, for a server the test is about to start."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    proc: subprocess.Popen[bytes] = subprocess.Popen(args, **kwargs)
    _started.append(proc)
    return proc


def serve(cwd: Path, port: int, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen[Any]:
    """``python -m safestream serve`` on 127.0.0.1:``port``, run from ``cwd`` as an operator would, with
    password hashing cheap enough for tests and ``env`` on top; stderr goes where ``stdout=`` says."""
    cheap = {"SAFESTREAM_ARGON2_MEMORY_KIB": "1024", "SAFESTREAM_ARGON2_TIME_COST": "1"}
    return spawn(
        [sys.executable, "-m", "safestream", "serve", "--host", "127.0.0.1"],
        cwd=cwd,
        env={**os.environ, "APP_PORT": str(port), **cheap, **(env or {})},
        stderr=subprocess.STDOUT,
        **popen,
    )


def reap() -> list[int]:
    """Kills every spawned process still running; returns their PIDs."""
    killed = []
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            killed.append(proc.pid)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass  # SIGKILL cannot be refused; the kernel will reap it
    return killed
