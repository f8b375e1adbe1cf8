"""Shared helpers for the load scripts: a server under test, accounts, /proc figures, percentiles,
and a raw Engine.IO v4 / Socket.IO v5 client.

The raw client speaks the wire protocol directly over aiohttp's WebSocket
client. python-socketio's client costs a task, a queue and a full decode per
event: simulating hundreds of viewers with it measures the client, not the
server. Here a viewer is one WebSocket, one reader task and (for chat frames)
one regex scan, so a few client processes can keep up with one server.

Nothing here imports Locust: this module is shared by scripts that run in the
test venv too. It does not need psutil either; /proc is read directly.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import http.client
import json
import math
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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

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

PASSWORD = "load-test-pw"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# --------------------------------------------------------------------------- server process


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


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VAL`` strings (from repeated ``--server-env``) into a dict."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--server-env takes KEY=VAL, got {pair!r}")
        env[key.strip()] = value
    return env


@dataclass
class Server:
    """A ``safestream serve`` child process in its own temporary working directory."""

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
) -> Server:
    """Starts ``python -m safestream serve`` in a fresh temp dir and waits for /healthz to answer 200.

    ``healthy_after`` is measured from just before ``Popen`` to the first 200, so
    it includes interpreter start-up and imports (what an operator waits for).
    ``nofile`` raises the child's RLIMIT_NOFILE (10k sockets need more than 1024).
    """
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="safestream-load-"))
    child_env = dict(os.environ)
    if load_defaults:
        child_env.update(LOAD_SERVER_ENV)
    child_env.update(env or {})
    child_env.pop("APP_PORT", None)  # --port wins anyway; keep the env readable in `ps e`
    log_path = workdir / "server.log"
    log_file = log_path.open("wb")

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


def _healthz_ok(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


# --------------------------------------------------------------------------- accounts


async def register_and_login(
    base_url: str, usernames: Sequence[str], *, password: str = PASSWORD, concurrency: int = 32, register: bool = True
) -> list[str]:
    """Registers (409 = already there, fine for a reused server) and logs in each user; returns tokens.

    A semaphore bounds the requests in flight: the server hashes passwords on a
    small thread pool, so more concurrency only queues there.
    """
    limiter = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=connector) as session:

        async def one(name: str) -> str:
            async with limiter:
                if register:
                    async with session.post("/auth/register", json={"username": name, "password": password}) as r:
                        if r.status not in (201, 409):
                            raise RuntimeError(f"register {name}: {r.status} {await r.text()}")
                async with session.post("/auth/login", data={"username": name, "password": password}) as r:
                    if r.status != 200:
                        raise RuntimeError(f"login {name}: {r.status} {await r.text()}")
                    token: str = (await r.json())["access_token"]
                    return token

        return list(await asyncio.gather(*(one(name) for name in usernames)))


def tokens_for(base_url: str, usernames: Sequence[str], *, concurrency: int = 32) -> tuple[list[str], float]:
    """Synchronous wrapper: (tokens, seconds taken)."""
    started = time.perf_counter()
    tokens = asyncio.run(register_and_login(base_url, usernames, concurrency=concurrency))
    return tokens, time.perf_counter() - started


# --------------------------------------------------------------------------- /proc figures


@dataclass(frozen=True)
class ProcSample:
    cpu_s: float  # user + system CPU seconds, all threads (and live children if asked)
    rss_kib: int
    wall: float  # time.monotonic() of the sample


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                kids += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return kids


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (every thread) from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLK_TCK


def rss_kib(pid: int) -> int:
    """VmRSS of a process from /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sample(pid: int, *, children: bool = True) -> ProcSample:
    """CPU and RSS of a process, plus its descendants (a server with worker processes counts whole)."""
    pids = [pid]
    if children:
        i = 0
        while i < len(pids):
            pids += _children(pids[i])
            i += 1
    cpu = 0.0
    rss = 0
    for p in pids:
        with contextlib.suppress(OSError, ValueError):
            cpu += cpu_seconds(p)
            rss += rss_kib(p)
    return ProcSample(cpu, rss, time.monotonic())


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat), to see what else ran during a run."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal; guest is inside user
    return busy / CLK_TCK


def kernel_net_seconds() -> float:
    """CPU seconds the kernel spent in interrupts and softirqs, plus the ksoftirqd threads.

    Loopback TCP is processed in softirq context, partly in ksoftirqd threads
    that belong to no benchmark process. Under heavy fan-out that is tens of %
    of a core: it is load this benchmark causes, not another user's work.
    """
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = (fields[5] + fields[6]) / CLK_TCK  # irq + softirq
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if Path(f"/proc/{pid}/comm").read_text().startswith("ksoftirqd"):
                    total += cpu_seconds(int(pid))
    return total


def wait_for_quiet(max_wait: float, *, busy_cores: float = 0.3, window: float = 1.0) -> float:
    """Waits (at most ``max_wait`` s) until the machine is nearly idle; returns the seconds waited.

    This machine is shared with other work (test suites, browsers): a run that
    starts while something else burns a core measures that, not the server.
    """
    started = time.monotonic()
    while True:
        before = machine_busy_seconds()
        time.sleep(window)
        if (machine_busy_seconds() - before) / window <= busy_cores:
            return time.monotonic() - started
        if time.monotonic() - started >= max_wait:
            return time.monotonic() - started


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = (len(data) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def percentiles(values: Sequence[float], ps: Iterable[float] = (50, 95, 99)) -> dict[float, float]:
    return {p: percentile(values, p) for p in ps}


def hist_percentiles(hist: Mapping[int, int], ps: Iterable[float], *, unit: float) -> dict[float, float]:
    """Percentiles of a histogram ``{bucket: count}`` (bucket * unit = value, bucket's upper edge)."""
    total = sum(hist.values())
    out: dict[float, float] = {}
    if total == 0:
        return {p: float("nan") for p in ps}
    ordered = sorted(hist.items())
    for p in ps:
        rank = max(1, int(total * p / 100.0 + 0.999999))  # nearest rank, never 0
        seen = 0
        for bucket, count in ordered:
            seen += count
            if seen >= rank:
                out[p] = (bucket + 1) * unit
                break
    return out


def median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return percentile(clean, 50) if clean else float("nan")


# --------------------------------------------------------------------------- raw Socket.IO client


class ProtocolError(RuntimeError):
    pass


@dataclass
class RawSocket:
    """One Engine.IO v4 WebSocket carrying Socket.IO v5 on the default namespace.

    Frames are strings: ``0{open}``, ``2``/``3`` ping/pong, ``40{...}`` connect,
    ``42[event, data]`` event, ``42<id>[...]`` event asking for an ack,
    ``43<id>[...]`` ack. With the websocket transport every Engine.IO packet is
    one frame, so no payload splitting is needed.
    """

    ws: aiohttp.ClientWebSocketResponse
    sid: str = ""
    next_ack: int = 1
    extensions: str = ""

    async def send_event(self, event: str, data: Any, *, ack: bool = False) -> int | None:
        ack_id: int | None = None
        if ack:
            ack_id = self.next_ack
            self.next_ack += 1
        body = json.dumps([event, data], separators=(",", ":"))
        await self.ws.send_str(f"42{ack_id if ack_id is not None else ''}{body}")
        return ack_id

    async def call(self, event: str, data: Any, timeout: float = 30.0) -> Any:
        """Event + ack before a reader task runs (the handshake phase): reads frames inline."""
        ack_id = await self.send_event(event, data, ack=True)
        prefix = f"43{ack_id}"
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv_text(deadline - time.monotonic())
            if frame.startswith(prefix) and frame[len(prefix) : len(prefix) + 1] == "[":
                return json.loads(frame[len(prefix) :])[0]
            # Anything else (presence, chat of other clients, ...) before our ack is dropped.

    async def recv_text(self, timeout: float) -> str:
        """The next text frame; answers Engine.IO pings on the way."""
        while True:
            msg = await self.ws.receive(timeout=max(timeout, 0.001))
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise ProtocolError(f"socket closed or bad frame: {msg.type!r} {msg.data!r}")
            frame: str = msg.data
            if frame == "2":
                await self.ws.send_str("3")
                continue
            return frame

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()


async def open_socket(
    session: aiohttp.ClientSession, base_url: str, token: str, *, deflate: bool = True, timeout: float = 30.0
) -> RawSocket:
    """WebSocket + Engine.IO open + Socket.IO namespace connect with ``auth={"token"}``.

    ``deflate`` offers permessage-deflate like browsers do (``compress=15``);
    whether frames are then compressed is the server's choice, which is what
    the SAFESTREAM_WS_COMPRESSION switch decides.
    """
    ws_url = base_url.replace("http://", "ws://").replace("https://", "wss://")
    ws = await session.ws_connect(
        f"{ws_url}/socket.io/?EIO=4&transport=websocket",
        compress=15 if deflate else 0,
        autoping=True,
        max_msg_size=16 * 1024 * 1024,
        timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
    )
    sock = RawSocket(ws)
    sock.extensions = ws._response.headers.get("Sec-WebSocket-Extensions", "") if ws._response else ""
    deadline = time.monotonic() + timeout
    try:
        opened = await sock.recv_text(timeout)
        if not opened.startswith("0"):
            raise ProtocolError(f"expected the Engine.IO open packet, got {opened[:80]!r}")
        await ws.send_str("40" + json.dumps({"token": token}, separators=(",", ":")))
        while True:
            frame = await sock.recv_text(deadline - time.monotonic())
            if frame.startswith("40"):
                sock.sid = json.loads(frame[2:]).get("sid", "")
                return sock
            if frame.startswith("44"):
                raise ProtocolError(f"connect refused: {frame[2:]}")
    except BaseException:
        await sock.close()
        raise


async def join(sock: RawSocket, stream: str, timeout: float = 30.0) -> dict[str, Any]:
    ack: dict[str, Any] = await sock.call("join", {"stream": stream}, timeout)
    if not ack.get("ok"):
        raise ProtocolError(f"join {stream} refused: {ack}")
    return ack


async def gather_bounded(factories: Sequence[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Runs coroutine factories with at most ``limit`` in flight; exceptions are returned, not raised."""
    gate = asyncio.Semaphore(limit)

    async def run(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await factory()

    return list(await asyncio.gather(*(run(f) for f in factories), return_exceptions=True))


def install_uvloop() -> bool:
    """Clients use uvloop when present: a cheaper loop leaves more of the 2 cores to the server."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


CHAT_LINES: tuple[str, ...] = (
    "hello everyone, great stream today",
    "that was an amazing play, well done",
    "what game are we playing next?",
    "greetings from the other side of the world",
    "love the music in the background",
    "how long have you been streaming?",
    "this is my favourite channel",
    "good luck on the next round",
)


def fmt(value: float, digits: int = 1) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python load/common.py``: a load-configured server for Locust or ``--external`` runs."""
    import argparse

    parser = argparse.ArgumentParser(
        description="Run a server with the load settings (cheap argon2, lifted "
        "per-address limits) in a temp dir, for a bounded time."
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--seconds", type=float, default=600.0, help="stop the server after this long")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VAL")
    args = parser.parse_args(argv)
    raise_nofile(65536)
    server = start_server(parse_env_pairs(args.server_env), port=args.port)
    print(
        f"server pid {server.pid} at {server.url}, healthy after {server.healthy_after:.2f} s; "
        f"stops in {args.seconds:.0f} s (Ctrl-C stops it now)",
        flush=True,
    )
    try:
        server.proc.wait(args.seconds)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
