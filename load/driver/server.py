"""The server under test: ``python -m safestream serve`` in a fresh temporary directory, stopped by its PID."""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

#: Settings every load server gets unless the caller overrides them. Cheap argon2
#: so registering hundreds (or thousands) of accounts takes seconds, not minutes;
#: a chat rate limit that the benchmark's senders cannot hit; per-address abuse
#: limits lifted because every simulated client comes from 127.0.0.1; WARNING
#: logs so the access log of the registration burst costs no server CPU.
LOAD_SERVER_ENV: dict[str, str] = {
    "SAFESTREAM_ARGON2_TIME_COST": "1",
    "SAFESTREAM_ARGON2_MEMORY_KIB": "1024",
    "SAFESTREAM_RATE_LIMIT_PER_USER": "100000",
    "SAFESTREAM_MAX_CONNECTIONS_PER_IP": "1000000",
    "SAFESTREAM_MAX_PENDING_PER_IP": "1000000",  # one load client opens thousands of sessions at once
    "SAFESTREAM_REGISTRATIONS_PER_IP": "1000000",
    "SAFESTREAM_LOGIN_ATTEMPTS_PER_IP": "1000000",
    "SAFESTREAM_LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    """A free loopback port; inside ``LOAD_PORT_RANGE`` (``LOW-HIGH``) when set (a shared machine)."""
    low, _, high = os.environ.get("LOAD_PORT_RANGE", "").partition("-")
    if low and high:
        for candidate in range(int(low), int(high) + 1):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", candidate))
                except OSError:
                    continue
                return candidate
        raise RuntimeError(f"no free port in LOAD_PORT_RANGE={low}-{high}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_nofile(wanted: int) -> int:
    """Raises this process's open-file limit towards ``wanted`` (capped by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


@dataclass
class Server:
    """A ``safestream serve`` child process in its own temporary working directory.

    A context manager: ``with start_server(...) as server:`` stops it (by PID) whatever
    the block raises, and an atexit guard kills it if the script dies another way.
    """

    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    started: float  # time.monotonic() just before Popen
    healthy_after: float  # seconds from Popen to the first 200 from /healthz
    log_path: Path
    keep: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def log_problems(self, top: int = 5) -> list[tuple[int, str]]:
        """WARNING/ERROR lines of the server log, grouped (socket ids and numbers blanked), most common first."""
        counts: dict[str, int] = {}
        with contextlib.suppress(OSError):
            for line in self.log_path.read_text(errors="replace").splitlines():
                level = next((lv for lv in (" WARNING ", " ERROR ", " CRITICAL ") if lv in line), None)
                if level is None:
                    continue
                key = re.sub(r"\b[\w-]{16,}\b|\d+", "#", line.split(level, 1)[1])[:120]
                counts[key] = counts.get(key, 0) + 1
        return sorted(((n, k) for k, n in counts.items()), reverse=True)[:top]

    def moderation_rows(self) -> Iterator[dict[str, Any]]:
        """The ``moderation`` records of the server's JSONL logs: why each message got its verdict."""
        for path in self.workdir.rglob("*.jsonl"):
            for line in path.read_text(errors="replace").splitlines():
                if '"moderation"' in line:
                    row = json.loads(line)
                    if row.get("type") == "moderation":
                        yield row

    def kill(self) -> None:
        """SIGKILL by PID if still running (the atexit guard: no server outlives its script)."""
        if self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (the server drains its queues), then SIGKILL past ``timeout``; removes the temp dir."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.proc.returncode


def start_server(
    env: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    python: str = sys.executable,
    load_defaults: bool = True,
    nofile: int = 0,
    timeout: float = 60.0,
    poll_interval: float = 0.01,
    keep: bool = False,
    workdir: Path | None = None,
) -> Server:
    """Starts ``python -m safestream serve`` in a fresh temp dir and waits for /healthz to answer 200.

    ``healthy_after`` is measured from just before ``Popen`` to the first 200, so
    it includes interpreter start-up and imports (what an operator waits for).
    ``nofile`` raises the child's RLIMIT_NOFILE (10k sockets need more than 1024).
    ``workdir`` reuses a stopped server's directory (its database): a restart (``restart_server``).
    """
    port = port or free_port()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="safestream-load-"))
    child_env = dict(os.environ)
    if load_defaults:
        child_env.update(LOAD_SERVER_ENV)
    child_env.update(env or {})
    child_env.pop("APP_PORT", None)  # --port wins anyway; keep the env readable in `ps e`
    log_path = workdir / "server.log"
    log_file = log_path.open("ab")  # a restart appends to the same log

    if nofile:
        # The child inherits this process's limits; raising ours avoids a preexec_fn (unsafe with threads).
        raise_nofile(nofile)
    cmd = [python, "-m", "safestream", "serve", "--host", "127.0.0.1", "--port", str(port)]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=workdir, env=child_env, stdout=log_file, stderr=subprocess.STDOUT)
    log_file.close()  # the child holds its own descriptor
    server = Server(proc, port, workdir, started, 0.0, log_path, keep)
    atexit.register(server.kill)  # whatever path the script takes out, even an exception
    deadline = started + timeout
    while True:
        if proc.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"server exited with {proc.returncode} before becoming healthy:\n{tail}")
        if _healthz_ok(port):
            server.healthy_after = time.monotonic() - started
            return server
        if time.monotonic() > deadline:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"server not healthy after {timeout:.0f} s:\n{tail}")
        time.sleep(poll_interval)


def restart_server(server: Server, env: Mapping[str, str] | None = None, **kwargs: Any) -> Server:
    """Stops ``server`` by its PID (SIGTERM: its shutdown path) and starts a new one on the same
    port and data directory: what a deploy does. The old ``keep`` setting passes to the new one."""
    keep, server.keep = server.keep, True
    server.stop()
    return start_server(env, port=server.port, workdir=server.workdir, keep=keep, **kwargs)


def _healthz_ok(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def start_py_spy(out: str, pid: int, duration: float) -> subprocess.Popen[bytes] | None:
    """py-spy recording the server for ``duration`` s, or None (with a note) when py-spy is not installed."""
    exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(exe):
        print("  py-spy not found; install it into this venv to profile", file=sys.stderr)
        return None
    fmt_ = "raw" if out.endswith(".txt") else "flamegraph"
    # --gil: only the thread holding the GIL is sampled. Python code runs one thread at a time, so
    # this is what limits throughput; without it, threads blocked in C (aiosqlite's queue, the
    # executor's idle workers, the loop in epoll) show up as busy.
    return subprocess.Popen(
        [exe, "record", "-o", out, "--format", fmt_, "-d", str(int(duration)), "-r", "100", "--gil", "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
