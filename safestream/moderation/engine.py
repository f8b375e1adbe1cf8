"""The moderation engine: normalize, then score through a cascade of stages.

Cheap stages (term lists, the linear model) score every text. An expensive
stage (a transformer) scores the texts that need reading as a sentence
(``routing.Router``; cascade ``band``, the default), or every text when the
caller asks (``escalate_all``: cascade ``all``, or ``auto`` while it keeps up): those the cheap stages did not find clearly clean
(highest cheap score ``>= band[0]``), those the built-in term list touched,
mentions of groups of people, and person-directed second-person predicates
and imperatives ("you're a <x>", "your <x>", "shut up"), not every "you".
Cheap scores merge by maximum. An expensive stage's scores replace the cheap
ones for the labels it reports, except ``obscene``, where the maximum stays:
the lexical model judges profanity, the sentence model judges meaning, so "holy
shit what a play" keeps its profanity score and loses the cheap "toxicity" one.

Loading (``start_loading``) runs in the background while the server starts;
``assess`` waits for it, so no text is ever scored by a half-loaded chain.

Verdicts are cached (``VerdictCache``) by normalized text, so a copy-paste
flood is scored once.

A stage that raises or exceeds its timeout does not make texts look clean:
their assessment is marked ``failed`` and the policy applies its configured
failure action (``hold`` by default).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from safestream.moderation import registry
from safestream.moderation.contract import Scorer, Scores
from safestream.moderation.normalize import normalize
from safestream.moderation.policy import Decision
from safestream.moderation.routing import Router
from safestream.moderation.verdict_cache import VerdictCache
from safestream.settings import Settings

log = logging.getLogger(__name__)

#: Labels where a lexical (cheap) score stays authoritative after a sentence stage.
LEXICAL_LABELS = frozenset({"obscene"})


@dataclass(slots=True)
class Assessment:
    normalized: str = ""
    scores: Scores = field(default_factory=dict)
    failed: bool = False
    escalated: bool = False
    #: label -> the stage whose score it is (for explanations).
    sources: dict[str, str] = field(default_factory=dict)
    #: Screened, and the expensive stage has yet to read it (``ModerationEngine.finish``).
    awaiting: bool = False

    @property
    def score(self) -> float:
        return max(self.scores.values(), default=0.0)

    def copy(self) -> Assessment:
        """An independent copy (cached verdicts are handed out to many messages)."""
        return Assessment(
            self.normalized, dict(self.scores), self.failed, self.escalated, dict(self.sources), self.awaiting
        )


@dataclass(slots=True)
class Stage:
    name: str
    scorer: Scorer
    expensive: bool
    calls: int = 0
    failures: int = 0
    seconds: float = 0.0


class ModerationEngine:
    def __init__(
        self,
        stages: Sequence[Stage],
        *,
        timeout: float = 5.0,
        band: tuple[float, float] = (0.15, 0.85),
        cache_size: int = 4096,
    ) -> None:
        self.stages = list(stages)
        self.timeout = timeout
        self.band = band
        self.router = Router(band[0])
        self.cache = VerdictCache(cache_size)
        #: Why texts went to the expensive stage in band mode (``routing`` reasons), for benchmarks.
        self.routed: Counter[str] = Counter()
        self._loading: asyncio.Task[None] | None = None
        self.load_error: BaseException | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ModerationEngine:
        names = registry.expand(settings.moderation, disable_transformers=settings.disable_detoxify)
        stages = [
            Stage(
                name,
                registry.build(
                    name,
                    quantize=settings.transformer_int8,
                    max_tokens=settings.transformer_max_tokens,
                    runtime=settings.transformer_runtime,
                ),
                registry.is_transformer(name),
            )
            for name in names
        ]
        low, high = settings.cascade_band
        return cls(stages, timeout=settings.moderation_timeout_secs, band=(low, high))

    @property
    def name(self) -> str:
        return ",".join(stage.name for stage in self.stages)

    @property
    def read_chunk(self) -> int:
        """Texts worth one expensive-stage call: more in a call only makes the first ones wait longer."""
        return min((stage.scorer.batch_hint for stage in self.stages if stage.expensive), default=64)

    async def load(self) -> None:
        """Loads every stage now (the CLI and tests); the server uses ``start_loading``."""
        self.start_loading()
        await self.wait_loaded()

    def start_loading(self) -> None:
        if self._loading is None:
            self._loading = asyncio.create_task(self._load_all(), name="moderation-load")

    async def _load_all(self) -> None:
        started = time.perf_counter()
        try:
            await asyncio.gather(*(stage.scorer.load() for stage in self.stages))
        except Exception as exc:  # noqa: BLE001 - reported by /healthz; texts then get the failure action
            self.load_error = exc
            log.error("moderation chain %s failed to load: %r", self.name, exc)
        else:
            log.info("moderation chain %s loaded in %.1f s", self.name, time.perf_counter() - started)

    async def wait_loaded(self) -> None:
        self.start_loading()
        assert self._loading is not None
        await asyncio.shield(self._loading)

    @property
    def state(self) -> str:
        """``loading``, ``ready`` or ``failed`` (for /healthz)."""
        if self._loading is None or not self._loading.done():
            return "loading"
        return "failed" if self.load_error is not None else "ready"

    async def close(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        await asyncio.gather(*(stage.scorer.close() for stage in self.stages), return_exceptions=True)

    async def assess(self, texts: Sequence[str], *, escalate_all: bool = False) -> list[Assessment]:
        """Scores texts; ``escalate_all`` lets the expensive stage see every text (when it keeps up)."""
        assessments = await self.screen(texts, escalate_all=escalate_all)
        await self.finish(assessments)
        return assessments

    async def screen(self, texts: Sequence[str], *, escalate_all: bool = False) -> list[Assessment]:
        """Normalizes and runs the cheap stages; what the expensive stage must read comes back ``awaiting``.

        The send path publishes the rest at once and lets only those wait for
        ``finish``: one sentence-stage call must not hold up every message of
        the batch (at 1,000 msg/s, 0.5 % of the messages, read in batches that took
        40-220 ms, put the whole room's p99 at 390 ms).
        """
        await self.wait_loaded()
        normalized = [normalize(text) for text in texts]
        if self.load_error is not None:
            return [Assessment(text, failed=True) for text in normalized]
        results: list[Assessment | None] = [self.cache.get(text, escalated=escalate_all) for text in normalized]
        # Each distinct text not in the cache is scored once, however often it repeats in the batch.
        todo: dict[str, list[int]] = {}
        for i, (text, cached) in enumerate(zip(normalized, results, strict=True)):
            if cached is None:
                todo.setdefault(text, []).append(i)
        unique = list(todo)
        fresh = [Assessment(text) for text in unique]
        cheap = [s for s in self.stages if not s.expensive]
        for stage in cheap:
            await self._run(stage, unique, range(len(unique)), fresh)
        if len(cheap) < len(self.stages):
            self._route(unique, fresh, escalate_all or not cheap)
        for text, result in zip(unique, fresh, strict=True):
            if not result.awaiting:
                self.cache.put(text, result)
            for i in todo[text]:
                results[i] = result.copy()
        return [r for r in results if r is not None]

    def _route(self, normalized: list[str], results: list[Assessment], everything: bool) -> None:
        """Marks ``awaiting`` (and ``escalated``) what the expensive stages will read, given the cheap scores."""
        for text, result in zip(normalized, results, strict=True):
            if result.failed:
                continue
            if everything:
                result.awaiting = result.escalated = True
            elif (why := self.router.reason(text, result.score)) is not None:
                self.routed[why] += 1
                result.awaiting = result.escalated = True

    async def finish(self, assessments: Sequence[Assessment]) -> None:
        """The expensive stages read the ``awaiting`` assessments (in place); each distinct text once."""
        expensive = [s for s in self.stages if s.expensive]
        waiting = [a for a in assessments if a.awaiting]
        if not waiting:
            return
        by_text: dict[str, list[Assessment]] = {}
        for a in waiting:
            by_text.setdefault(a.normalized, []).append(a)
        unique = list(by_text)
        firsts = [group[0] for group in by_text.values()]
        for stage in expensive:
            await self._run(stage, unique, range(len(unique)), firsts, authoritative=True)
        for text, group in by_text.items():
            first = group[0]
            first.awaiting = False
            self.cache.put(text, first)
            for other in group[1:]:
                other.scores, other.sources = dict(first.scores), dict(first.sources)
                other.failed, other.awaiting = first.failed, False

    async def _run(
        self,
        stage: Stage,
        texts: Sequence[str],
        indices: Sequence[int],
        results: list[Assessment],
        *,
        authoritative: bool = False,
    ) -> None:
        if not indices:
            return
        started = time.perf_counter()
        stage.calls += 1
        try:
            scored = await asyncio.wait_for(stage.scorer.score([texts[i] for i in indices]), self.timeout)
            if len(scored) != len(indices):
                raise RuntimeError(f"{stage.name} returned {len(scored)} results for {len(indices)} texts")
        except Exception as exc:  # noqa: BLE001 - a failing backend must never mean "clean"
            stage.failures += 1
            log.error("moderation stage %s failed on %d texts: %r", stage.name, len(indices), exc)
            for i in indices:
                results[i].failed = True
            return
        finally:
            stage.seconds += time.perf_counter() - started
        for i, scores in zip(indices, scored, strict=True):
            merged = results[i].scores
            for label, value in scores.items():
                if (authoritative and label not in LEXICAL_LABELS) or value > merged.get(label, -1.0):
                    merged[label] = value
                    results[i].sources[label] = stage.name


def explain(assessment: Assessment, decision: Decision) -> dict[str, Any]:
    """Which stage and category decided a verdict, and its score (console and ``--explain``)."""
    category = decision.category
    if decision.decided_by:
        stage = decision.decided_by
    elif category is None:
        stage = "none"
    else:
        stage = assessment.sources.get(category, "none")
    score = assessment.scores.get(category, decision.score) if category else decision.score
    if decision.decided_by == "terms":
        score = decision.score
    return {"stage": stage, "category": category, "score": round(score, 4), "escalated": assessment.escalated}
