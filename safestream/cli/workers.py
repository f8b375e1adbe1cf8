"""``safestream serve --workers N``: N server processes on one port.

The processes share the listening port (SO_REUSEPORT: the kernel spreads new
connections over them) and share rooms, counts and sanctions through Redis,
so REDIS_URL is required. Because a long-polling session's requests could
land on different processes, the workers accept the websocket transport
only; behind a load balancer with sticky sessions both transports work (see
the README). The first worker starts alone so it migrates the database and
seeds the demo; a worker that dies is restarted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import FrameType

from safestream.errors import ConfigError
from safestream.settings import Settings

RESTART_BACKOFF = 1.0


def run(settings: Settings, workers: int) -> int:
    if not settings.redis_url:
        raise ConfigError("--workers needs REDIS_URL: the processes share rooms and state through Redis")
    env = {
        **os.environ,
        "SAFESTREAM_REUSE_PORT": "1",
        "SAFESTREAM_TRANSPORTS": "websocket",
        "APP_HOST": settings.host,
        "APP_PORT": str(settings.port),
    }
    command = [sys.executable, "-m", "safestream", "serve"]
    stopping = False

    def spawn(index: int) -> subprocess.Popen[bytes]:
        # Each worker keeps its own JSONL log (its write-ahead record): a restarted
        # worker recovers from its own log's tail, and no two processes rotate one file.
        log_dir = str(settings.effective_log_dir / f"worker-{index}")
        return subprocess.Popen(command, env={**env, "SAFESTREAM_LOG_DIR": log_dir})

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    procs: list[subprocess.Popen[bytes]] = [spawn(0)]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _wait_healthy(settings, procs[0])
    procs += [spawn(i) for i in range(1, workers)]
    print(f"SafeStream: {workers} workers on http://{settings.host}:{settings.port}", flush=True)
    while not stopping:
        time.sleep(0.5)
        for i, proc in enumerate(procs):
            if proc.poll() is not None and not stopping:
                print(f"SafeStream: worker {proc.pid} exited ({proc.returncode}); restarting", flush=True)
                time.sleep(RESTART_BACKOFF)
                procs[i] = spawn(i)
    return max((proc.wait() for proc in procs), default=0)


def _wait_healthy(settings: Settings, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://{host}:{settings.port}/healthz", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise ConfigError("the first worker did not become healthy; see its log above")
