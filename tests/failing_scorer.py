"""A scripted moderation backend for fault tests: the model boundary, failing on purpose."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence

from safestream.moderation.contract import ExecutorScorer, Scorer, Scores


class BrokenScorer(Scorer):
    name = "broken"

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        raise RuntimeError("the model server is down")


class HangingScorer(Scorer):
    name = "hanging"

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        await asyncio.sleep(float(os.environ.get("HANG_SECS", "60")))
        return [{} for _ in texts]


class StuckScorer(ExecutorScorer):
    """A model call that never returns: its worker thread is stuck for good."""

    name = "stuck"

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        time.sleep(3600)
        return [{} for _ in texts]


class SlowLoadingScorer(Scorer):
    """Takes LOAD_SECS to load, then calls every text a threat: shows whether a text waited for it."""

    name = "slow-loading"

    def __init__(self) -> None:
        self.loaded = False

    async def load(self) -> None:
        await asyncio.sleep(float(os.environ.get("LOAD_SECS", "1.5")))
        self.loaded = True

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        if not self.loaded:
            raise RuntimeError("scored before load finished")
        return [{"threat": 0.99} for _ in texts]
