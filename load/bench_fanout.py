"""Fan-out benchmark: many viewers in one stream, senders chatting at a fixed open-loop rate.

Usage (P1 check, medians of 3 runs, each on a fresh server):
    python load/bench_fanout.py --scenario p6 --repeat 3       # also p1, quiet, moderate (issue 14)
    python load/bench_fanout.py --viewers 200 --senders 20 --rate 1000 --duration 15 --repeat 3
    python load/bench_fanout.py --sweep                       # viewers 50,200,500 x rate 100..2000
    python load/bench_fanout.py --ab SAFESTREAM_WS_COMPRESSION=1,0 --repeat 3
    python load/bench_fanout.py --external http://127.0.0.1:8000 [--server-pid PID]
    python load/bench_fanout.py --server-env SAFESTREAM_JSON=json --py-spy /tmp/profile.txt

Clients are raw Engine.IO v4 / Socket.IO v5 WebSockets (load/driver/wire.py), not
python-socketio clients: a few hundred python-socketio clients would saturate
the 2 cores of this machine before the server does. Viewers are sharded over
``--workers`` client processes; the senders run in one more process
(load/driver/fanout_clients.py).

Printed per run: deliveries/s to viewers (sum over viewers of chat messages
received / duration), end-to-end p50/p95/p99, loss (visible acked messages x
viewers - received), acks by outcome, server CPU seconds and % of one core,
server RSS, and the load generator's own CPU, since it shares the 2 cores.
Also server CPU per frame sent (``us/frm``): near saturation the server
coalesces more, so its CPU % hardly moves between variants while its cost per
frame does; A/B ratios report it (load/driver/fanout_result.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from driver.cli import add_quiet_wait, add_server_env, add_target, ints, parse_env_pairs
from driver.fanout_result import Scenario
from driver.fanout_run import Options, run_configs, run_variants
from driver.server import raise_nofile

SCENARIOS: dict[str, Scenario] = {
    # P6: a big room, 500,000 deliveries/s offered.
    "p6": Scenario(1000, 20, 500, 10, min_deliveries=475_000, max_p99_ms=250, max_server_cpu_pct=70),
    # P1: 200,000 deliveries/s offered.
    "p1": Scenario(200, 20, 1000, 4, min_deliveries=190_000, max_p99_ms=100),
    # A quiet room: the flush window must add no latency.
    "quiet": Scenario(200, 1, 1, 1, max_p50_ms=5, max_p99_ms=20),
    # Moderate: every message could still be its own frame.
    "moderate": Scenario(200, 10, 50, 1, max_p99_ms=30, max_server_cpu_pct=25),
}


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenario",
        choices=sorted(SCENARIOS),
        help="a load of issue 14 (viewers, senders, rate, sampling) and its target check",
    )
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1000.0, help="total chat messages/s over all senders")
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="read latency from 1 frame in N per viewer (default: the scenario's, else 1)",
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of sending")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds viewers keep reading after sending stops")
    parser.add_argument("--workers", type=int, default=2, help="client processes the viewers are sharded over")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (medians printed)")
    parser.add_argument("--stream", default="main")
    add_server_env(parser)
    parser.add_argument("--ab", metavar="KEY=A,B", help="A/B: run each value of KEY --repeat times, interleaved")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:K=V,K=V",
        help="A/B/n over several settings at once (repeatable; runs interleaved): "
        "before:SAFESTREAM_FANOUT=socketio,SAFESTREAM_GC_FREEZE=0 after:",
    )
    parser.add_argument("--sweep", action="store_true", help="every --sweep-viewers x --sweep-rates")
    parser.add_argument("--sweep-viewers", default="50,200,500")
    parser.add_argument("--sweep-rates", default="100,500,1000,2000")
    add_target(parser, "target a running server (no server is started)", "with --external: PID to read CPU/RSS from")
    parser.add_argument("--py-spy", metavar="OUT", help="profile the server during the (last) run with py-spy")
    add_quiet_wait(parser, 120.0, "before each run wait up to this many s for the shared machine to go idle (0: no)")
    parser.add_argument(
        "--max-other",
        type=float,
        default=30.0,
        help="redo a run if other processes used more than this %% of a core during it (0: never)",
    )
    parser.add_argument("--retries", type=int, default=4, help="redo a disturbed run at most this many times")
    return parser, parser.parse_args(argv)


def variant_envs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """``--ab KEY=A,B`` or the ``--variant NAME:K=V,...`` list as {variant name: server env}."""
    if args.ab:
        key, _, values = args.ab.partition("=")
        if not key or len([v for v in values.split(",") if v]) < 2:
            parser.error("--ab takes KEY=A,B")
        envs = {f"{key}={v}": {key: v} for v in values.split(",") if v}
    else:
        envs = {}
        for spec in args.variant:
            name, _, pairs = spec.partition(":")
            envs[name] = parse_env_pairs([p for p in pairs.split(",") if p])
    if len(envs) < 2:
        parser.error("an A/B needs two variants")
    return envs


def main(argv: Sequence[str] | None = None) -> int:
    parser, args = parse_args(argv)
    raise_nofile(65536)
    scenario = SCENARIOS.get(args.scenario or "")
    if scenario is not None:
        args.viewers, args.senders, args.rate = scenario.viewers, scenario.senders, scenario.rate
    target = (args.scenario, scenario) if scenario is not None else None
    opts = Options(
        args.viewers,
        args.senders,
        args.rate,
        args.duration,
        args.drain,
        args.workers,
        args.stream,
        not args.no_deflate,
        args.external,
        args.server_pid,
        parse_env_pairs(args.server_env),
        args.py_spy,
        args.keep_server,
        args.quiet_wait,
        args.max_other,
        args.retries,
        args.sample or (scenario.sample_every if scenario is not None else 1),
    )
    where = args.external or "a fresh server per run (python -m safestream serve)"
    print(
        f"fan-out bench: {where}; {os.cpu_count()} CPUs shared by server and {args.workers}+1 client "
        f"processes; deflate {'offered' if opts.deflate else 'not offered'}; server env {opts.server_env or '{}'}"
    )
    if args.ab or args.variant:
        run_variants(opts, variant_envs(parser, args), args.repeat, target)
    elif args.sweep:
        configs = [(v, r) for v in ints(args.sweep_viewers) for r in ints(args.sweep_rates)]
        run_configs(opts, configs, args.repeat, None, sweep=True)
    else:
        run_configs(opts, [(args.viewers, int(args.rate))], args.repeat, target, sweep=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
