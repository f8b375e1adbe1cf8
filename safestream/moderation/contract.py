"""The plug-in contract every scoring backend implements.

A backend scores a *batch* of already-normalized texts into per-category
scores in [0, 1] using Detoxify's six labels. A backend that knows fewer
categories fills only the ones it knows; the engine treats a missing label as
"no opinion", never as zero evidence of safety for the labels it does know.

CPU-bound backends subclass ``ExecutorScorer`` and implement the synchronous
``predict``; the base class runs it on a dedicated single-thread executor so
model inference never blocks the event loop. A stateless scorer that costs
microseconds per text (the term lists, the linear model) may set
``inline_max``: batches up to that size then run on the caller's thread,
because for them the executor hop, and under load the wait for the GIL to
come back from the loop, costs more than the work (a quiet room's message
went through two hops before anyone saw it).
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Sequence
from typing import ClassVar

LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
)

Scores = dict[str, float]


class BackendUnavailable(RuntimeError):
    """A backend cannot be built here (missing package, weights, or files)."""


class ModelLoadError(RuntimeError):
    """Weights or tokenizer loaded but are wrong (the silent failures we guard)."""


class Scorer(abc.ABC):
    """Scores batches of texts. ``load`` is called once before first use."""

    name: ClassVar[str] = "scorer"
    #: The labels this backend fills; a subset of LABELS.
    labels: ClassVar[tuple[str, ...]] = LABELS

    @property
    def batch_hint(self) -> int:
        """Texts per call past which a bigger batch costs as much per text (1: it reads texts one at a time)."""
        return 64

    async def load(self) -> None:
        """Heavy initialisation (model files); runs before the server serves."""

    @abc.abstractmethod
    async def score(self, texts: Sequence[str]) -> list[Scores]:
        """One ``Scores`` per text, in order."""

    async def close(self) -> None:
        """Release threads and models."""


class ExecutorScorer(Scorer):
    """A CPU-bound scorer: ``predict`` runs on its own single worker thread."""

    #: Batches of at most this many texts run on the calling thread (0: always the executor).
    #: Only for scorers whose ``predict`` reads shared state and never writes it.
    inline_max: ClassVar[int] = 0

    def __init__(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"scorer-{self.name}")

    async def load(self) -> None:
        # Loading runs on a daemon thread, not the executor: it can take many
        # seconds (importing torch) and a SIGTERM meanwhile must not wait for it
        # (the interpreter joins executor threads at exit, never daemon ones).
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def settle(exc: BaseException | None) -> None:
            if done.done():
                return
            if exc is not None:
                done.set_exception(exc)
            else:
                done.set_result(None)

        def run() -> None:
            error: BaseException | None = None
            try:
                self.load_sync()
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(settle, error)

        threading.Thread(target=run, name=f"load-{self.name}", daemon=True).start()
        await done

    def load_sync(self) -> None:
        """Override to load weights; runs on the scorer's thread."""

    @abc.abstractmethod
    def predict(self, texts: Sequence[str]) -> list[Scores]:
        """Synchronous batch inference; runs on the scorer's thread."""

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        if not texts:
            return []
        if len(texts) <= self.inline_max:
            return self.predict(list(texts))
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.predict, list(texts))

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
