"""Sliding-window limits: a key's hits inside the window, what the refused wait, and forgetting."""

from __future__ import annotations

import pytest

from safestream.chat.ratelimit import SlidingWindowLimiter


def test_a_full_window_refuses_until_its_oldest_hit_leaves() -> None:
    limiter = SlidingWindowLimiter(3, 10.0)
    assert [limiter.check("ann", now=t) for t in (0.0, 1.0, 2.0)] == [None, None, None]
    assert limiter.check("ann", now=3.0) == pytest.approx(7.0)  # the hit at 0 leaves at 10
    assert limiter.check("bob", now=3.0) is None  # keys do not share a window
    assert limiter.blocked("ann", now=9.5) and limiter.retry_after("ann", now=9.5) == pytest.approx(0.5)
    assert limiter.check("ann", now=10.0) is None  # 0 is out, 1 and 2 are in
    assert limiter.check("ann", now=10.5) == pytest.approx(0.5)  # refused hits are not counted
    assert limiter.check("ann", now=30.0) is None  # all old hits out at once


def test_sweep_forgets_keys_whose_hits_all_left() -> None:
    limiter = SlidingWindowLimiter(2, 5.0)
    limiter.check("old", now=0.0)
    limiter.check("new", now=4.0)
    limiter.sweep(now=6.0)
    assert limiter.retry_after("old", now=6.0) == 0.0
    limiter.check("new", now=6.5)
    assert limiter.blocked("new", now=6.5)  # still holds 4.0 and 6.5
