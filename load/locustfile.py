"""Locust scenario: users who log in, join one stream and chat at a total rate held by locust-plugins.

Run headless against a running server (``python load/serve.py``: its per-address
limits allow this many logins from one address; see load/README.md):

    locust -f load/locustfile.py --headless -u 200 -r 100 -t 30s --processes 2 \
        --host http://127.0.0.1:8000 --check-fail-ratio 0.01 --check-chat-rate 475 \
        --check-ack-p99 100 --check-delivery-p99 100

Environment: LOAD_RATE (500): chat messages/s over all users, held by
``constant_total_ips`` (locust_plugins.wait_time), which paces one process, so
each worker holds LOAD_RATE / workers (workers: ``--processes``, else
LOAD_WORKERS for workers started by hand, else 1); ``-u`` is the user count.
LOAD_STREAM (main); LOAD_HOST (used when --host is not given); LOAD_PASSWORD;
LOAD_ACK_TIMEOUT (10 s); LOAD_SAMPLE (10). Accounts are ``locust-<worker>-<n>``: the master
registers them before the run (409: from an earlier run), each user logs in.

Request stats recorded:
  POST /auth/login                   the account step (and /auth/register for a user not registered up front)
  WS connect, WSC join               WebSocket + Socket.IO connect (up to 3 tries), and the join ack
  WSC chat ack                       send -> ack, timed by the reader (sends do not wait for acks:
                                     an open loop); refused, or none within LOAD_ACK_TIMEOUT, fails
  WSR delivery                       end-to-end latency of each message (send timestamp in its text,
                                     one machine clock) in one chat frame out of LOAD_SAMPLE (10) per
                                     user: per message, like bench_fanout.py's --sample
  WSR frame                          every chat frame: latency of its oldest message, size = messages
                                     in it (a substring count; # reqs x avg size = deliveries)

Each user is one plain socket and one reader greenlet (load/driver/gwire.py):
no python-socketio client, no JSON decode of chat frames. Every user is in the
room, so each message is delivered to all of them, the sender included.
SLO thresholds and each process's CPU: load/locust_slo.py.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.pool
import requests
from locust import HttpUser, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import MasterRunner, Runner, WorkerRunner
from locust_plugins.wait_time import constant_total_ips

sys.path.insert(0, str(Path(__file__).resolve().parent))  # Locust imports this file by path: the driver is next to it

import locust_slo  # noqa: F401  (registers the SLO options and checks)

from driver.accounts import PASSWORD as DEFAULT_PASSWORD
from driver.gwire import SocketIO, parse_ack
from driver.texts import CHAT_LINES

RATE = float(os.environ.get("LOAD_RATE", "500"))
STREAM = os.environ.get("LOAD_STREAM", "main")
HOST = os.environ.get("LOAD_HOST", "http://127.0.0.1:8000")
PASSWORD = os.environ.get("LOAD_PASSWORD", DEFAULT_PASSWORD)
ACK_TIMEOUT = float(os.environ.get("LOAD_ACK_TIMEOUT", "10"))
CONNECT_TRIES = 3
#: One chat frame in this many per user is read message by message (WSR delivery); every frame is counted.
SAMPLE = max(1, int(os.environ.get("LOAD_SAMPLE", "10")))
#: Our messages carry ``lt=<time.time_ns()>``; a frame's first stamp is its oldest message.
STAMP = re.compile(rb"\blt=(\d+)")
CHAT_FRAME = b'42["chat'  # chat and chat_batch
_numbers = itertools.count()
_sent = {"messages": 0, "since": 0.0}  # this process's chat sends: the rate offered, acked or not
log = logging.getLogger("locustfile")


class ChatRefused(Exception):
    """A ``chat`` or ``join`` ack with ok=false: recorded as a failure named by its code."""


class ChatUser(HttpUser):
    host = HOST
    wait_time = constant_total_ips(RATE)  # replaced at init by this process's share

    def on_start(self) -> None:
        worker = getattr(self.environment.runner, "worker_index", 0)
        self.username = f"locust-{worker}-{next(_numbers)}"
        self.pending: dict[int, float] = {}  # ack id -> perf_counter() at send
        self.sio: SocketIO | None = None
        self.reader: gevent.Greenlet | None = None
        token = self._token()
        events = self.environment.events.request
        # measure() records an exception raised in its block as a failure and swallows it. A refused or
        # timed-out connect is retried as static/js/chat.js does (0.1-1.9 s later), each try recorded.
        for attempt in range(CONNECT_TRIES):
            with events.measure("WS", "connect") as connected:
                self.sio = SocketIO.connect(self.host, token, timeout=30)
            if connected["exception"] is None:
                break
            if attempt == CONNECT_TRIES - 1:
                raise StopUser()
            gevent.sleep(random.uniform(0.1, 1.9))
        assert self.sio is not None
        with events.measure("WSC", "join") as joined:
            ack = self.sio.call("join", {"stream": STREAM})
            if not ack.get("ok"):
                raise ChatRefused(str(ack.get("error")))
        if joined["exception"] is not None:
            raise StopUser()
        self.sio.ws.settimeout(None)
        self.reader = gevent.spawn(self._read, self.sio)

    def on_stop(self) -> None:
        if self.reader is not None:
            self.reader.kill(block=False)
        if self.sio is not None:
            self.sio.ws.close()

    def _token(self) -> str:
        body = {"username": self.username, "password": PASSWORD}
        with self.client.post("/auth/login", data=body, catch_response=True) as r:
            if r.status_code == 401:  # not registered up front (users added from the web UI): register, retry
                r.success()
        if r.status_code == 401:
            with self.client.post("/auth/register", json=body, catch_response=True) as r:
                if r.status_code == 409:
                    r.success()
            r = self.client.post("/auth/login", data=body)
        if r.status_code != 200:
            raise StopUser()
        token: str = r.json()["access_token"]
        return token

    @task
    def chat(self) -> None:
        # Open loop: the next message does not wait for this one's ack (nor does a chatting viewer), so a
        # slow server cannot lower the rate offered to it; the reader times the ack.
        assert self.sio is not None  # on_start stops the user otherwise
        self._expire_acks()
        text = f"{random.choice(CHAT_LINES)} lt={time.time_ns()}"
        ack_id = self.sio.new_ack_id()
        self.pending[ack_id] = time.perf_counter()
        try:
            self.sio.emit("chat", {"message": text, "stream": STREAM}, ack_id=ack_id)
            _sent["messages"] += 1
        except OSError as exc:  # the socket is gone: this user is done
            self._ack(ack_id, exc)
            raise StopUser() from exc

    def _ack(self, ack_id: int, exc: Exception | None) -> None:
        sent = self.pending.pop(ack_id, None)
        if sent is not None:
            ms = (time.perf_counter() - sent) * 1000
            self.environment.events.request.fire(**_entry("WSC", "chat ack", ms, 0, exc))

    def _expire_acks(self) -> None:
        """Acks older than LOAD_ACK_TIMEOUT fail (oldest first: the dict keeps send order)."""
        deadline = time.perf_counter() - ACK_TIMEOUT
        while self.pending:
            ack_id, sent = next(iter(self.pending.items()))
            if sent > deadline:
                return
            self._ack(ack_id, TimeoutError(f"no ack in {ACK_TIMEOUT:.0f} s"))

    def _read(self, sio: SocketIO) -> None:
        """Acks are timed on arrival; chat frames are counted, and one in LOAD_SAMPLE is read message by message."""
        fire = self.environment.events.request.fire
        seen = random.randrange(SAMPLE)  # staggered: the sampled frames of different users do not line up
        try:
            while True:
                packet = sio.recv()
                if packet.startswith(CHAT_FRAME):
                    n = packet.count(b" lt=")
                    if not n:
                        continue
                    now = time.time_ns()
                    seen += 1
                    if seen >= SAMPLE:
                        seen = 0
                        stamps = STAMP.findall(packet)
                        for stamp in stamps:
                            fire(**_entry("WSR", "delivery", (now - int(stamp)) / 1e6, 1))
                        oldest = int(stamps[0])
                    else:
                        match = STAMP.search(packet)
                        oldest = int(match.group(1)) if match else now
                    fire(**_entry("WSR", "frame", (now - oldest) / 1e6, n))
                elif (ack := parse_ack(packet)) is not None:
                    body = ack[1]
                    refused = None if body.get("ok") else ChatRefused((body.get("error") or {}).get("code", "refused"))
                    self._ack(ack[0], refused)
        except OSError:  # Closed included: the socket ended; unacked messages expire as failures
            return


def _entry(kind: str, name: str, ms: float, length: int, exc: Exception | None = None) -> dict[str, Any]:
    return {
        "request_type": kind,
        "name": name,
        "response_time": ms,
        "response_length": length,
        "exception": exc,
        "context": {},
    }


@events.test_start.add_listener
def _count_start(**_kw: Any) -> None:
    _sent.update(messages=0, since=time.monotonic())


@events.test_stop.add_listener
def _count_stop(environment: Environment, **_kw: Any) -> None:
    if not isinstance(environment.runner, MasterRunner):
        seconds = time.monotonic() - _sent["since"]
        log.info("sent %d chat messages in %.1f s = %.1f/s", _sent["messages"], seconds, _sent["messages"] / seconds)


def _workers(environment: Environment) -> int:
    return int(os.environ.get("LOAD_WORKERS") or getattr(environment.parsed_options, "processes", None) or 1)


def _register(host: str, names: list[str]) -> None:
    """Registers the accounts (409: there already) before the clock starts: the server runs every new name
    through moderation, and 200 registrations at once held connects past the server's 5 s auth timeout."""
    started = time.monotonic()
    session = requests.Session()

    def one(name: str) -> None:
        r = session.post(f"{host}/auth/register", json={"username": name, "password": PASSWORD}, timeout=120)
        if r.status_code not in (201, 409):
            raise RuntimeError(f"register {name}: {r.status_code} {r.text[:100]}")

    gevent.pool.Pool(16).map(one, names)
    log.info("%d accounts registered (or there) in %.1f s", len(names), time.monotonic() - started)


@events.init.add_listener
def _setup(environment: Environment, runner: Runner | None = None, **_kw: Any) -> None:
    workers = _workers(environment)
    # constant_total_ips holds a rate per process: each worker takes its share of the total. It waits its
    # interval after each task (its correction term is divided by the rate, ~0), so the task must not wait
    # for acks; with a 2 ms task on this loaded box it held 494 of 500/s (a Locust run without a server).
    ChatUser.wait_time = constant_total_ips(RATE / workers)
    users = getattr(environment.parsed_options, "num_users", None)
    if users and not isinstance(runner, WorkerRunner):
        # Users are locust-<worker>-<n>; a worker runs at most ceil(users / workers) of them.
        per_worker = -(-users // workers)
        _register(environment.host or HOST, [f"locust-{w}-{n}" for w in range(workers) for n in range(per_worker)])
