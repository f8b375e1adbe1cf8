"""One fan-out run's figures, how they are derived, printed and checked against a scenario's target.

- Loss is (acked messages with action allow/flag/mask) x viewers - received.
- ``us/frm`` is server CPU / frames the server sent (senders are room members too):
  near saturation the server coalesces more, so its CPU % hardly moves between
  variants while its cost per frame does.
- ``other%`` is what everything else on the machine used (busy - server - clients - irq/softirq).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from driver.stats import fmt, median
from driver.wire import VISIBLE


@dataclass
class RunResult:
    label: str
    viewers: int
    senders: int
    rate: float
    duration: float
    sent: int = 0
    acks: Counter[str] = field(default_factory=Counter)
    received: int = 0
    frames: int = 0
    min_viewer: int = 0
    lat_p50: float = float("nan")
    lat_p95: float = float("nan")
    lat_p99: float = float("nan")
    lat_max: float = float("nan")
    ack_p50: float = float("nan")
    ack_p99: float = float("nan")
    lag_p99: float = float("nan")
    server_cpu: float = float("nan")
    server_rss_mib: float = float("nan")
    server_peak_rss_mib: float = float("nan")
    client_cpu: float = 0.0
    machine_cpu: float = float("nan")  # busy CPU seconds of the whole machine over the window
    kernel_cpu: float = 0.0  # of which interrupts, softirqs and ksoftirqd (loopback TCP)
    waited: float = 0.0  # seconds spent waiting for the machine to be quiet before the run
    connect_errors: int = 0
    extensions: str = ""
    loadavg: str = ""  # /proc/loadavg (1, 5, 15 min) at the start of the run: the machine is shared

    @property
    def visible(self) -> int:
        return sum(n for k, n in self.acks.items() if k.split(":", 1)[-1] in VISIBLE and k.startswith("ok:"))

    @property
    def expected(self) -> int:
        return self.visible * self.viewers

    @property
    def deliveries_per_s(self) -> float:
        return self.received / self.duration

    @property
    def loss(self) -> int:
        return self.expected - self.received

    @property
    def loss_pct(self) -> float:
        return 100.0 * self.loss / self.expected if self.expected else float("nan")

    @property
    def server_cpu_pct(self) -> float:
        return 100.0 * self.server_cpu / self.duration

    @property
    def client_cpu_pct(self) -> float:
        return 100.0 * self.client_cpu / self.duration

    @property
    def other_cpu_pct(self) -> float:
        """What else ran on the machine during the window (other users' tests, browsers...)."""
        return 100.0 * (self.machine_cpu - self.server_cpu - self.client_cpu - self.kernel_cpu) / self.duration

    @property
    def kernel_cpu_pct(self) -> float:
        return 100.0 * self.kernel_cpu / self.duration

    @property
    def frames_sent(self) -> float:
        """WebSocket frames the server sent to the room: senders are members too and get the same frames."""
        return self.frames * (self.viewers + self.senders) / self.viewers if self.viewers else 0.0

    @property
    def frames_per_s(self) -> float:
        return self.frames_sent / self.duration

    @property
    def msgs_per_frame(self) -> float:
        return self.received / self.frames if self.frames else float("nan")

    @property
    def cpu_us_per_message(self) -> float:
        """Server CPU per delivered message (one message to one viewer)."""
        return 1e6 * self.server_cpu / self.received if self.received else float("nan")

    @property
    def client_us_per_message(self) -> float:
        return 1e6 * self.client_cpu / self.received if self.received else float("nan")

    @property
    def cpu_us_per_frame(self) -> float:
        """Server CPU per frame sent: the cost that fixes capacity, whatever the coalescing did."""
        return 1e6 * self.server_cpu / self.frames_sent if self.frames_sent else float("nan")


HEADER = (
    f"{'run':<14} {'viewers':>7} {'rate':>6} {'sent':>6} {'deliv/s':>9} {'p50ms':>7} {'p95ms':>7} "
    f"{'p99ms':>7} {'maxms':>7} {'loss%':>6} {'ack99':>7} {'lag99':>6} {'srvCPU%':>7} "
    f"{'RSS MiB':>7} {'cliCPU%':>7} {'other%':>6} {'us/frm':>6} {'us/msg':>6} {'msg/frm':>7} {'load':>14}"
)


def row(r: RunResult) -> str:
    return (
        f"{r.label:<14} {r.viewers:>7} {r.rate:>6.0f} {r.sent:>6} {fmt(r.deliveries_per_s, 0):>9} "
        f"{fmt(r.lat_p50):>7} {fmt(r.lat_p95):>7} {fmt(r.lat_p99):>7} {fmt(r.lat_max, 0):>7} "
        f"{fmt(r.loss_pct, 2):>6} {fmt(r.ack_p99):>7} {fmt(r.lag_p99):>6} {fmt(r.server_cpu_pct, 0):>7} "
        f"{fmt(r.server_peak_rss_mib, 0):>7} {fmt(r.client_cpu_pct, 0):>7} {fmt(r.other_cpu_pct, 0):>6} "
        f"{fmt(r.cpu_us_per_frame):>6} {fmt(r.cpu_us_per_message, 2):>6} {fmt(r.msgs_per_frame):>7} "
        f"{r.loadavg:>14}"
    )


def detail(r: RunResult) -> str:
    acks = ", ".join(f"{k}={v}" for k, v in sorted(r.acks.items()))
    return (
        f"    acks: {acks}; received {r.received:,} of expected {r.expected:,} "
        f"(loss {r.loss:,}; slowest viewer got {r.min_viewer:,}); {r.frames:,} frames "
        f"= {r.received / max(r.frames, 1):.1f} msgs/frame; server CPU {fmt(r.server_cpu, 2)} s; kernel irq/softirq "
        f"{fmt(r.kernel_cpu_pct, 0)}%; "
        f"connect errors {r.connect_errors}; ws extensions: {r.extensions or 'none'}; "
        f"waited {r.waited:.0f} s for a quiet machine"
    )


MEDIAN_FIELDS = (
    "deliveries_per_s",
    "lat_p50",
    "lat_p95",
    "lat_p99",
    "lat_max",
    "loss_pct",
    "ack_p50",
    "ack_p99",
    "lag_p99",
    "server_cpu_pct",
    "server_peak_rss_mib",
    "client_cpu_pct",
    "other_cpu_pct",
    "kernel_cpu_pct",
    "frames_per_s",
    "msgs_per_frame",
    "cpu_us_per_frame",
    "cpu_us_per_message",
    "client_us_per_message",
)


def medians(results: Sequence[RunResult]) -> dict[str, float]:
    return {name: median([float(getattr(r, name)) for r in results]) for name in MEDIAN_FIELDS}


def print_medians(title: str, results: Sequence[RunResult]) -> dict[str, float]:
    m = medians(results)
    print(
        f"  median of {len(results)} ({title}): {fmt(m['deliveries_per_s'], 0)} deliveries/s, "
        f"p50 {fmt(m['lat_p50'])} ms, p95 {fmt(m['lat_p95'])} ms, p99 {fmt(m['lat_p99'])} ms, "
        f"loss {fmt(m['loss_pct'], 3)}%, ack p99 {fmt(m['ack_p99'])} ms, server CPU {fmt(m['server_cpu_pct'], 0)}% "
        f"of one core, peak RSS {fmt(m['server_peak_rss_mib'], 0)} MiB, load generator CPU "
        f"{fmt(m['client_cpu_pct'], 0)}%, kernel (irq/softirq) {fmt(m['kernel_cpu_pct'], 0)}%, other processes "
        f"{fmt(m['other_cpu_pct'], 0)}%; {fmt(m['frames_per_s'], 0)} frames/s of {fmt(m['msgs_per_frame'])} msgs, "
        f"server {fmt(m['cpu_us_per_frame'])} us CPU per frame-recipient, {fmt(m['cpu_us_per_message'], 2)} us per "
        f"delivered message (driver {fmt(m['client_us_per_message'], 2)} us); load average "
        f"{', '.join(r.loadavg for r in results)}",
        flush=True,
    )
    return m


@dataclass(frozen=True)
class Scenario:
    """A load (one server process) and the target its medians must meet."""

    viewers: int
    senders: int
    rate: float
    sample_every: int  # latency from 1 frame in N per viewer: the driver must keep up
    min_deliveries: float = 0.0
    max_p50_ms: float = float("inf")
    max_p99_ms: float = float("inf")
    max_server_cpu_pct: float = float("inf")


def check_target(name: str, target: Scenario, results: Sequence[RunResult]) -> bool:
    m = medians(results)
    losses = max(r.loss for r in results)
    checks = [
        ("deliveries/s", m["deliveries_per_s"] >= target.min_deliveries, f"{m['deliveries_per_s']:,.0f}"),
        ("p50", m["lat_p50"] <= target.max_p50_ms, f"{fmt(m['lat_p50'])} ms"),
        ("p99", m["lat_p99"] <= target.max_p99_ms, f"{fmt(m['lat_p99'])} ms"),
        ("loss", losses <= 0, f"{losses} max"),
        ("server CPU", m["server_cpu_pct"] <= target.max_server_cpu_pct, f"{fmt(m['server_cpu_pct'], 0)}%"),
    ]
    ok = all(passed for _, passed, _ in checks)
    wanted = (
        f">= {target.min_deliveries:,.0f}/s, p50 <= {target.max_p50_ms:g} ms, p99 <= {target.max_p99_ms:g} ms, "
        f"no loss, server <= {target.max_server_cpu_pct:g}% of a core"
    )
    print(
        f"  {name} target ({wanted}): {'PASS' if ok else 'FAIL'} ["
        + ", ".join(f"{label} {value}{'' if passed else ' (missed)'}" for label, passed, value in checks)
        + "]"
    )
    return ok
