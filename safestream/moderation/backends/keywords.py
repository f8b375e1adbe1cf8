"""The term-list backend: a fast, explainable first stage.

It scores ``hit_score`` on "toxicity" and on the matched term's own label
(obscene, insult, identity_attack or threat) when a blocked term appears, and
0.0 otherwise. A list cannot read context, so a miss is weak evidence; the
engine merges scores by maximum, which keeps a 0.0 here from hiding what a
model stage finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from safestream.moderation.contract import ExecutorScorer, Scores
from safestream.moderation.terms import TermList


class KeywordScorer(ExecutorScorer):
    """Scores already-normalized texts against a ``TermList``."""

    name: ClassVar[str] = "keywords"
    # The labels the built-in list's categories map onto; see terms.DEFAULT_BLOCKED.
    labels: ClassVar[tuple[str, ...]] = ("toxicity", "obscene", "insult", "identity_attack", "threat")
    #: A compiled regex per text: small batches skip the executor.
    inline_max: ClassVar[int] = 64

    def __init__(self, terms: TermList | None = None, *, hit_score: float = 0.95) -> None:
        super().__init__()
        if not 0.0 < hit_score <= 1.0:
            raise ValueError(f"hit_score must be in (0, 1], not {hit_score}")
        # Below 1.0 by default: a listed word is strong but not certain evidence
        # ("ass" the animal), and policies may want 1.0 reserved for humans.
        self._hit_score = hit_score
        self._terms = terms

    def load_sync(self) -> None:
        # Compiling the default list's regex is the only set-up work; it runs
        # here (on the scorer's thread, before serving) rather than at import.
        if self._terms is None:
            self._terms = TermList.default()

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        if self._terms is None:
            raise RuntimeError("KeywordScorer.load() must run before scoring")
        results: list[Scores] = []
        for text in texts:
            scores = dict.fromkeys(self.labels, 0.0)
            for match in self._terms.find(text):
                scores["toxicity"] = self._hit_score
                # A custom list may use a label this backend does not declare;
                # then only "toxicity" carries the hit.
                if match.rule.label in scores:
                    scores[match.rule.label] = self._hit_score
            results.append(scores)
        return results
