"""Fan-out runs: a fresh server (or an external one), the client processes, the measured window, the figures.

A run registers the accounts, starts the viewer shards and the sender process,
gives them one wall-clock start, samples the server's CPU and RSS over exactly
the send window, and folds the workers' reports into a ``RunResult``. A run
during which other processes took more than ``max_other`` % of a core is redone.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from driver.accounts import tokens_for
from driver.fanout_clients import BUCKET_MS, WorkerArgs, worker_main
from driver.fanout_result import HEADER, RunResult, Scenario, check_target, detail, medians, print_medians, row
from driver.machine import kernel_net_seconds, loadavg, machine_busy_seconds, sample, wait_for_quiet
from driver.server import start_py_spy, start_server
from driver.stats import fmt, hist_percentiles, percentiles
from driver.workers import Workers, answer


@dataclass(frozen=True)
class Options:
    viewers: int
    senders: int
    rate: float
    duration: float
    drain: float
    workers: int
    stream: str
    deflate: bool
    external: str | None
    server_pid: int | None
    server_env: dict[str, str]
    py_spy: str | None
    keep_server: bool
    quiet_wait: float
    max_other: float
    retries: int
    sample_every: int = 1


def clean_run(opts: Options, label: str) -> RunResult:
    """A run, redone (up to ``opts.retries`` times) while other processes took more than ``opts.max_other``.

    Other people's test suites share these 2 cores; a run during which they
    took a core measures them as much as the server. Discarded runs are printed.
    """
    for attempt in range(opts.retries + 1):
        result = run_once(opts, label)
        if opts.max_other <= 0 or result.other_cpu_pct <= opts.max_other or attempt == opts.retries:
            if attempt == opts.retries and result.other_cpu_pct > opts.max_other > 0:
                print(f"  (kept despite other processes at {result.other_cpu_pct:.0f}%: out of retries)")
            return result
        print(
            f"  discarded {label}: other processes used {result.other_cpu_pct:.0f}% of a core "
            f"(p99 {fmt(result.lat_p99)} ms, server CPU {fmt(result.server_cpu_pct, 0)}%); retrying",
            flush=True,
        )
    raise AssertionError("unreachable")


def run_once(opts: Options, label: str = "") -> RunResult:
    """Starts a server (unless external), connects everyone, runs the schedule, returns the figures."""
    server = None
    waited = wait_for_quiet(opts.quiet_wait) if opts.quiet_wait > 0 else 0.0
    if opts.external:
        base_url, pid = opts.external.rstrip("/"), opts.server_pid
    else:
        server = start_server(opts.server_env, keep=opts.keep_server)
        base_url, pid = server.url, server.pid
    try:
        result = _run(opts, base_url, pid, label)
        result.waited = waited
        return result
    finally:
        if server is not None:
            for count, line in server.log_problems(3):
                print(f"  server log: {count} x {line}", file=sys.stderr)
            code = server.stop()
            if code not in (0, -15):
                print(f"  (server exited with {code}; log tail:)\n{server.log_tail(10)}", file=sys.stderr)


def _jobs(opts: Options, base_url: str, run_id: str, tokens: Sequence[str]) -> list[WorkerArgs]:
    """Viewers sharded over ``opts.workers`` processes, and one process for all the senders."""
    viewer_tokens, sender_tokens = tokens[: opts.viewers], tokens[opts.viewers :]
    shards = max(1, min(opts.workers, opts.viewers))
    jobs = [
        WorkerArgs("viewers", base_url, part, opts.stream, run_id, opts.deflate, sample_every=opts.sample_every)
        for part in (tuple(viewer_tokens[w::shards]) for w in range(shards))
        if part
    ]
    jobs.append(WorkerArgs("senders", base_url, tuple(sender_tokens), opts.stream, run_id, opts.deflate, opts.rate))
    return jobs


def _run(opts: Options, base_url: str, pid: int | None, label: str) -> RunResult:
    run_id = uuid.uuid4().hex[:8]
    names = [f"viewer{i}" for i in range(opts.viewers)] + [f"sender{i}" for i in range(opts.senders)]
    tokens, took = tokens_for(base_url, names)
    print(f"  [{label}] accounts: {len(names)} registered+logged in in {took:.1f} s", flush=True)
    result = RunResult(label, opts.viewers, opts.senders, opts.rate, opts.duration)
    spy: subprocess.Popen[bytes] | None = None
    with Workers() as workers:
        pipes = [workers.start(worker_main, job) for job in _jobs(opts, base_url, run_id, tokens)]
        result.loadavg = loadavg()
        try:
            connected = 0
            for pipe in pipes:
                ready = answer(pipe, 300, "connect")
                connected += ready["ready"]
                result.connect_errors += ready["n_errors"]
                result.extensions = result.extensions or ready["extensions"]
                if ready["errors"]:
                    print(f"  connect errors (first): {ready['errors']}", file=sys.stderr)
            if connected != len(names):
                print(f"  WARNING: {connected}/{len(names)} sockets connected", file=sys.stderr)
            start = time.time() + 1.0
            for pipe in pipes:
                pipe.send({"start": start, "duration": opts.duration, "drain": opts.drain})
            # Server CPU over exactly the send window; RSS sampled through it for the peak.
            time.sleep(max(0.0, start - time.time()))
            if opts.py_spy and pid:
                spy = start_py_spy(opts.py_spy, pid, opts.duration)
            _measure_window(result, pid, start + opts.duration)
            _fold_reports(result, [answer(pipe, opts.drain + 120, "report") for pipe in pipes])
        finally:
            if spy is not None:
                spy.wait(60)
    return result


def _measure_window(result: RunResult, pid: int | None, until: float) -> None:
    """Server CPU and peak RSS, and the machine's busy and kernel-network time, from now until ``until``."""
    before = sample(pid) if pid else None
    machine_before = machine_busy_seconds()
    kernel_before = kernel_net_seconds()
    peak = 0
    while time.time() < until:
        if pid:
            peak = max(peak, sample(pid).rss_kib)
        time.sleep(min(0.5, max(0.0, until - time.time())))
    result.machine_cpu = machine_busy_seconds() - machine_before
    result.kernel_cpu = kernel_net_seconds() - kernel_before
    if pid and before is not None:
        after = sample(pid)
        result.server_cpu = after.cpu_s - before.cpu_s
        result.server_rss_mib = after.rss_kib / 1024
        result.server_peak_rss_mib = max(peak, after.rss_kib) / 1024


def _fold_reports(result: RunResult, reports: Sequence[Mapping[str, Any]]) -> None:
    hist: Counter[int] = Counter()
    ack_ms: list[float] = []
    lag_ms: list[float] = []
    per_viewer: list[int] = []
    for out in reports:
        result.client_cpu += out["cpu"]
        if out["role"] == "viewers":
            per_viewer += out["received"]
            result.frames += out["frames"]
            hist.update(out["hist"])
        else:
            result.sent = out["sent"]
            result.acks.update(out["acks"])
            ack_ms, lag_ms = out["ack_ms"], out["lag_ms"]
    result.received = sum(per_viewer)
    result.min_viewer = min(per_viewer) if per_viewer else 0
    lat = hist_percentiles(hist, (50, 95, 99, 100), unit=BUCKET_MS)
    result.lat_p50, result.lat_p95, result.lat_p99, result.lat_max = lat[50], lat[95], lat[99], lat[100]
    ack = percentiles(ack_ms, (50, 99))
    result.ack_p50, result.ack_p99 = ack[50], ack[99]
    result.lag_p99 = percentiles(lag_ms, (99,))[99]


def _print_run(result: RunResult) -> RunResult:
    print(row(result))
    print(detail(result), flush=True)
    return result


def run_variants(
    opts: Options, envs: Mapping[str, Mapping[str, str]], repeat: int, target: tuple[str, Scenario] | None
) -> None:
    """A/B/n: each variant's server env ``repeat`` times, interleaved, then medians, targets and A/B ratios."""
    variants = list(envs)
    by_variant: dict[str, list[RunResult]] = {v: [] for v in variants}
    print(HEADER)
    for rep in range(repeat):
        for v in variants:  # interleaved, so drift of the machine hits both sides alike
            o = dataclasses.replace(opts, server_env={**opts.server_env, **envs[v]})
            by_variant[v].append(_print_run(clean_run(o, label=f"{v[-12:]}#{rep + 1}")))
    summary = {v: print_medians(f"{v} {dict(envs[v])}", rs) for v, rs in by_variant.items()}
    if target is not None:
        for v, rs in by_variant.items():
            check_target(f"{target[0]} {v}", target[1], rs)
    a, b = summary[variants[0]], summary[variants[1]]
    ratios = (
        ("deliveries/s", "deliveries_per_s"),
        ("server CPU", "server_cpu_pct"),
        ("p99", "lat_p99"),
        ("peak RSS", "server_peak_rss_mib"),
        ("server CPU per frame", "cpu_us_per_frame"),
        ("server CPU per delivered message", "cpu_us_per_message"),
    )
    print(
        f"  ratios {variants[0]} / {variants[1]}: "
        + ", ".join(f"{label} {a[key] / b[key]:.3f}" for label, key in ratios)
    )


def run_configs(
    opts: Options, configs: Sequence[tuple[int, int]], repeat: int, target: tuple[str, Scenario] | None, sweep: bool
) -> None:
    """Each (viewers, rate) ``repeat`` times with medians; a sweep summary, or the scenario's target check."""
    print(HEADER)
    all_results: list[tuple[tuple[int, int], list[RunResult]]] = []
    for viewers, rate in configs:
        o = dataclasses.replace(opts, viewers=viewers, rate=float(rate))
        results = [_print_run(clean_run(o, label=f"v{viewers}r{rate}#{rep + 1}")) for rep in range(repeat)]
        print_medians(f"{viewers} viewers, {rate} msg/s", results)
        all_results.append(((viewers, rate), results))
    if sweep:
        print("\nsweep summary (medians): viewers x rate -> deliveries/s, p99 ms, loss %, server CPU %")
        for (viewers, rate), results in all_results:
            m = medians(results)
            print(
                f"  {viewers:>4} x {rate:>5}: {fmt(m['deliveries_per_s'], 0):>9}/s  p99 {fmt(m['lat_p99']):>8}  "
                f"loss {fmt(m['loss_pct'], 2):>6}%  CPU {fmt(m['server_cpu_pct'], 0):>4}%"
            )
    elif target is not None:
        check_target(target[0], target[1], all_results[0][1])
