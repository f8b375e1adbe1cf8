"""CPU and RSS from /proc: the server's (and its children's), this process's, and the whole machine's.

The machine is shared with other people's work, so besides the server's own
figures the scripts read what everything else used (``machine_busy_seconds``)
and can wait for a quiet moment before a run (``wait_for_quiet``).
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def _cpu_line() -> list[int]:
    return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat), to see what else ran during a run."""
    fields = _cpu_line()
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal; guest is inside user
    return busy / CLK_TCK


def kernel_net_seconds() -> float:
    """CPU seconds the kernel spent in interrupts and softirqs, plus the ksoftirqd threads.

    Loopback TCP is processed in softirq context, partly in ksoftirqd threads
    that belong to no benchmark process. Under heavy fan-out that is tens of %
    of a core: it is load this benchmark causes, not another user's work.
    """
    fields = _cpu_line()
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
    """This process's user + system CPU: the load generator shares the cores with the server."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, printed next to figures taken on a shared machine."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
