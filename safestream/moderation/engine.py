"""The moderation engine: normalize, then score through a cascade of stages.

Cheap stages (term lists, the linear model) score every text. An expensive
stage (a transformer) scores only the texts the cheap stages could not settle:
those whose highest cheap score falls inside ``band``. With no expensive
stage, the cheap scores are final. Scores are merged per label by maximum.

A stage that raises or exceeds its timeout does not make texts look clean:
their assessment is marked ``failed`` and the policy applies its configured
failure action (``hold`` by default).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from safestream.moderation import registry
from safestream.moderation.contract import Scorer, Scores
from safestream.moderation.normalize import normalize
from safestream.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Assessment:
    normalized: str = ""
    scores: Scores = field(default_factory=dict)
    failed: bool = False
    escalated: bool = False

    @property
    def score(self) -> float:
        return max(self.scores.values(), default=0.0)


@dataclass(slots=True)
class Stage:
    name: str
    scorer: Scorer
    expensive: bool
    calls: int = 0
    failures: int = 0
    seconds: float = 0.0


class ModerationEngine:
    def __init__(self, stages: Sequence[Stage], *, timeout: float = 5.0,
                 band: tuple[float, float] = (0.15, 0.85)) -> None:
        self.stages = list(stages)
        self.timeout = timeout
        self.band = band

    @classmethod
    def from_settings(cls, settings: Settings) -> ModerationEngine:
        names = registry.expand(settings.moderation, disable_transformers=settings.disable_detoxify)
        stages = [Stage(name, registry.build(name, quantize=settings.transformer_int8,
                                             max_tokens=settings.transformer_max_tokens),
                        registry.is_transformer(name)) for name in names]
        low, high = settings.cascade_band
        return cls(stages, timeout=settings.moderation_timeout_secs, band=(low, high))

    @property
    def has_expensive_stage(self) -> bool:
        return any(stage.expensive for stage in self.stages)

    @property
    def name(self) -> str:
        return ",".join(stage.name for stage in self.stages)

    async def load(self) -> None:
        await asyncio.gather(*(stage.scorer.load() for stage in self.stages))

    async def close(self) -> None:
        await asyncio.gather(*(stage.scorer.close() for stage in self.stages), return_exceptions=True)

    async def assess(self, texts: Sequence[str], *, escalate_all: bool = False) -> list[Assessment]:
        """Scores texts; ``escalate_all`` lets the expensive stage see every text (when it keeps up)."""
        normalized = [normalize(text) for text in texts]
        results = [Assessment(text) for text in normalized]
        cheap = [s for s in self.stages if not s.expensive]
        expensive = [s for s in self.stages if s.expensive]
        for stage in cheap:
            await self._run(stage, normalized, range(len(normalized)), results)
        low, high = self.band
        for stage in expensive:
            unsettled = {i for i, r in enumerate(results) if not r.failed and (not cheap or low <= r.score < high)}
            pending = [i for i, r in enumerate(results) if not r.failed and (escalate_all or i in unsettled)]
            for i in pending:
                results[i].escalated = True
            # The transformer's verdict replaces an unsure cheap score; texts the cheap
            # stage already settled keep the higher of the two.
            await self._run(stage, normalized, pending, results, replace=unsettled if cheap else set())
        return results

    async def _run(self, stage: Stage, texts: Sequence[str], indices: Sequence[int],
                   results: list[Assessment], *, replace: set[int] | frozenset[int] = frozenset()) -> None:
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
            if i in replace:
                merged.clear()
            for label, value in scores.items():
                if value > merged.get(label, -1.0):
                    merged[label] = value
