"""Locust scenario: viewers who log in, join a stream and chat at a fixed per-user rate.

Run headless against a running server (whose per-address limits allow this many
logins from one address; see load/README.md):

    locust -f load/locustfile.py --headless -u 200 -r 50 -t 30s --host http://127.0.0.1:8000

Environment: LOAD_USERS (200) and LOAD_RATE (500 msg/s in total) set each
user's rate to LOAD_RATE / LOAD_USERS; LOAD_STREAM (main); LOAD_HOST (used when
--host is not given); LOAD_PASSWORD. Accounts are ``locust-<n>``: registered on
first use (409 means it exists) and logged in.

Request stats recorded:
  HTTP /auth/register, /auth/login   the account steps
  WS connect, WSC join               Socket.IO connect and the join ack
  WSC chat ack                       send -> ack; a refused ack counts as a failure
  WSE chat, WSE join                 sends (Locust's wrapped emit; always 0 ms)
  WSR presence, gift, ...            other events received (0 ms)
  WSR chat / chat_batch              one entry per received frame; response time is
                                     the end-to-end latency of the oldest message in
                                     the frame (send timestamp in its text, same
                                     machine clock), size is the messages in it

This drives python-socketio's (gevent) client, which costs far more CPU per
client than the raw clients of bench_fanout.py: on 2 cores Locust's own CPU
limits what it can push, and its latencies include its own queueing.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import requests
import socketio
from locust import constant_throughput, task
from locust.contrib.socketio import SocketIOUser
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parent))  # Locust imports this file by path: the driver is next to it

from driver.accounts import PASSWORD as DEFAULT_PASSWORD
from driver.texts import CHAT_LINES

USERS = int(os.environ.get("LOAD_USERS", "200"))
RATE = float(os.environ.get("LOAD_RATE", "500"))
STREAM = os.environ.get("LOAD_STREAM", "main")
HOST = os.environ.get("LOAD_HOST", "http://127.0.0.1:8000")
PASSWORD = os.environ.get("LOAD_PASSWORD", DEFAULT_PASSWORD)
#: Our own messages carry ``lt=<time.time_ns()>``; other people's chat in the stream is not timed.
STAMP = re.compile(r"\blt=(\d+)")
_numbers = itertools.count()


class ChatRefused(Exception):
    """A ``chat`` ack with ok=false: recorded as a failure named by its code."""


class ChatViewer(SocketIOUser):
    host = HOST
    # Each user sends at most this many messages/s; LOAD_USERS of them make LOAD_RATE.
    wait_time = constant_throughput(RATE / USERS)
    options: dict[str, Any] = {"reconnection": False}  # noqa: RUF012 - declared so by SocketIOUser

    def on_start(self) -> None:
        self.username = f"locust-{next(_numbers)}"
        token = self._token()
        self.sio.on("chat", self._on_chat)
        self.sio.on("chat_batch", self._on_chat_batch)
        self.sio.connect(self.host, auth={"token": token}, transports=["websocket"], wait_timeout=20)
        # measure() records an exception raised inside it as a failure and swallows it, so the
        # decision to stop this user is taken outside the block.
        ack: dict[str, Any] = {}
        with self.environment.events.request.measure("WSC", "join"):
            ack = socketio.Client.call(self.sio, "join", {"stream": STREAM}, timeout=20)
            if not ack.get("ok"):
                raise ChatRefused(str(ack.get("error")))
        if not ack.get("ok"):
            raise StopUser()

    def on_stop(self) -> None:
        self.sio.disconnect()

    def _token(self) -> str:
        events = self.environment.events.request
        with events.measure("HTTP", "/auth/register") as meta:
            r = requests.post(
                f"{self.host}/auth/register", json={"username": self.username, "password": PASSWORD}, timeout=30
            )
            if r.status_code not in (201, 409):  # 409: the account exists from an earlier run
                meta["exception"] = RuntimeError(f"{r.status_code} {r.text[:100]}")
        with events.measure("HTTP", "/auth/login") as meta:
            r = requests.post(
                f"{self.host}/auth/login", data={"username": self.username, "password": PASSWORD}, timeout=30
            )
            if r.status_code != 200:
                meta["exception"] = RuntimeError(f"{r.status_code} {r.text[:100]}")
        if r.status_code != 200:
            raise StopUser()
        token: str = r.json()["access_token"]
        return token

    @task
    def chat(self) -> None:
        text = f"{random.choice(CHAT_LINES)} lt={time.time_ns()}"
        with self.environment.events.request.measure("WSC", "chat ack"):
            # socketio.Client.call, not self.sio.call: the wrapper would record a second, unchecked entry.
            ack = socketio.Client.call(self.sio, "chat", {"message": text, "stream": STREAM}, timeout=30)
            if not ack.get("ok"):
                raise ChatRefused(ack.get("error", {}).get("code", "refused"))

    def _delivered(self, name: str, payloads: list[dict[str, Any]]) -> None:
        now = time.time_ns()
        stamps = [int(m.group(1)) for p in payloads if (m := STAMP.search(str(p.get("message", ""))))]
        if not stamps:
            return
        self.environment.events.request.fire(
            request_type="WSR",
            name=name,
            response_time=(now - min(stamps)) / 1e6,
            response_length=len(stamps),
            exception=None,
            context={},
        )

    def _on_chat(self, data: dict[str, Any]) -> None:
        self._delivered("chat", [data])

    def _on_chat_batch(self, data: list[dict[str, Any]]) -> None:
        self._delivered("chat_batch", data)
