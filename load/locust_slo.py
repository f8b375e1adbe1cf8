"""The chat SLO as Locust exit-code checks, and each Locust process's own CPU (imported by load/locustfile.py).

locust-plugins' checks (``--check-fail-ratio``, ``--check-rps``,
``--check-avg-response-time``) read Locust's *Aggregated* row: every HTTP,
join, ack and delivery entry together. The fail ratio means what it says
there. The average and the rate do not: delivery and frame entries (a frame
entry per chat frame received, a delivery entry per message of sampled frames)
outnumber acks, so ``--check-avg-response-time`` bounds roughly the mean
delivery latency and ``--check-rps`` counts frames. So the chat's own figures get their own checks:

  --check-chat-rate MSG_S     chat acks per second, first ack to last, at least this
  --check-ack-p99 MS          p99 of ``WSC chat ack`` at most this
  --check-delivery-p99 MS     p99 of ``WSR delivery`` at most this

A miss logs ``CHECK FAILED`` and sets the exit code to 3, as locust-plugins
does. With LOAD_SERVER_PID set (the pid serve.py prints) the master also logs
the server's CPU over the test. Nothing here imports driver/ or the server.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

ACK = ("WSC", "chat ack")
DELIVERY = ("WSR", "delivery")
FRAME = ("WSR", "frame")


def entry_rate(entry: StatsEntry) -> float:
    """Requests/s from this entry's first request to its last: Locust's req/s counts from the test start,
    which includes the logins and connects, not the chat."""
    if not entry.num_requests or entry.last_request_timestamp is None:
        return 0.0
    return float(entry.num_requests / max(entry.last_request_timestamp - entry.start_time, 1e-9))


#: (option, entry (type, name), what is read, the reading, True if the reading is a floor).
CHECKS: tuple[tuple[str, tuple[str, str], str, Callable[[StatsEntry], float], bool], ...] = (
    ("check_chat_rate", ACK, "chat acks/s", entry_rate, True),
    ("check_ack_p99", ACK, "chat ack p99 ms", lambda e: float(e.get_response_time_percentile(0.99)), False),
    ("check_delivery_p99", DELIVERY, "delivery p99 ms", lambda e: float(e.get_response_time_percentile(0.99)), False),
)

_started: dict[str, float] = {}
log = logging.getLogger("locust_slo")


@events.init_command_line_parser.add_listener
def _add_arguments(parser: LocustArgumentParser, **_kw: Any) -> None:
    group = parser.add_argument_group("SafeStream chat SLO", "exit code 3 when a threshold is missed")
    group.add_argument("--check-chat-rate", type=float, help="chat acks/s over the run, at least")
    group.add_argument("--check-ack-p99", type=float, help="p99 ms of 'WSC chat ack', at most")
    group.add_argument("--check-delivery-p99", type=float, help="p99 ms of 'WSR delivery', at most")


@events.quitting.add_listener
def _check(environment: Environment, **_kw: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.runner is None:
        return  # the master holds the aggregated stats
    stats = environment.runner.stats
    acks, frames = stats.get(ACK[1], ACK[0]), stats.get(FRAME[1], FRAME[0])
    delivered = frames.total_content_length  # a frame entry's size is the messages in it
    log.info(
        "chat: %d acks, %.1f/s first to last; deliveries: %d in %d frames (%.1f per frame), %.0f/s",
        acks.num_requests,
        entry_rate(acks),
        delivered,
        frames.num_requests,
        delivered / max(frames.num_requests, 1),
        delivered * entry_rate(frames) / max(frames.num_requests, 1),
    )
    for option, (kind, name), what, read, floor in CHECKS:
        bound = getattr(environment.parsed_options, option, None)
        if bound is None:
            continue
        value = read(stats.get(name, kind))
        missed = value < bound if floor else value > bound
        sign = ">=" if floor else "<="
        if missed:
            environment.process_exit_code = 3
        log.info("CHECK %s: %s was %.1f (threshold %s %.1f)", "FAILED" if missed else "OK", what, value, sign, bound)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu_seconds() -> float | None:
    """CPU seconds of LOAD_SERVER_PID (the pid serve.py prints) from /proc; None when unset or gone."""
    pid = os.environ.get("LOAD_SERVER_PID")
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@events.test_start.add_listener
def _cpu_start(**_kw: Any) -> None:
    _started.update(cpu=_cpu_seconds(), wall=time.monotonic())
    server = _server_cpu_seconds()
    if server is not None:
        _started["server"] = server


@events.test_stop.add_listener
def _cpu_stop(environment: Environment, **_kw: Any) -> None:
    # Locust shares the 2 cores with the server: its own CPU says whether the generator was the limit.
    if not _started:
        return
    cpu, wall = _cpu_seconds() - _started["cpu"], time.monotonic() - _started["wall"]
    role = type(environment.runner).__name__.removesuffix("Runner").lower()
    log.info(
        "locust %s pid %d: %.1f s CPU in %.1f s = %.0f %% of a core", role, os.getpid(), cpu, wall, 100 * cpu / wall
    )
    server = _server_cpu_seconds()
    if server is not None and "server" in _started and not isinstance(environment.runner, WorkerRunner):
        used = server - _started["server"]
        log.info(
            "server pid %s: %.1f s CPU in %.1f s = %.0f %% of a core",
            os.environ["LOAD_SERVER_PID"],
            used,
            wall,
            100 * used / wall,
        )
