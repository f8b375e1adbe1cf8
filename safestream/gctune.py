"""Garbage-collector tuning for the serving process (``safestream serve`` only).

Start-up leaves a few hundred thousand long-lived objects (SQLAlchemy, the
moderation models, templates...). Every full collection rescans them all, and
under chat load one ran about every second for ~80 ms: those pauses were the
p99 tail (load/README.md). ``gc.freeze()`` after a ``gc.collect()`` moves the
survivors into the permanent generation, which collections skip. It runs once
the moderation chain has loaded (that is where most of them come from).

It is process-wide state, so the app factory never does it: tests and embedding
apps build many apps in one process and keep Python's defaults.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import Awaitable

log = logging.getLogger(__name__)


def apply_threshold(gen0: int) -> None:
    """A larger gen-0 threshold means fewer young collections (0 keeps Python's default)."""
    if gen0 > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0, gen1, gen2)


def apply_switch_interval(ms: float) -> None:
    """How long the event loop may hold the GIL while a model thread waits for it (0: Python's 5 ms).

    The sentence stage hands the GIL back and forth with the loop on every
    text it reads; with a busy loop each hand-back waited out the whole
    interval, so a read of ten texts took 50 ms more than its arithmetic.
    """
    if ms > 0:
        sys.setswitchinterval(ms / 1000)


async def freeze_when(loaded: Awaitable[None]) -> None:
    """Collects once and freezes what survives, after ``loaded`` (the moderation chain) is done."""
    try:
        await loaded
    except Exception:
        log.debug("moderation load failed before gc.freeze", exc_info=True)
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info("gc: froze %d start-up objects in %.0f ms", gc.get_freeze_count(), (time.perf_counter() - started) * 1000)


def stop_collecting() -> None:
    """At SIGTERM: no more collections; the process ends within its grace period anyway.

    With 10,000 sockets the heap holds millions of objects the start-up freeze
    never saw, and closing every session allocates a task and frames for each:
    the full collections that triggered took seconds of the 9 s drain, which
    then missed its deadline (load/README.md, "Shutdown at 10,000 sockets").
    """
    gc.disable()
