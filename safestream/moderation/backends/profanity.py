"""alt-profanity-check: a TF-IDF + calibrated linear SVM shipped inside the package.

Works offline with no downloads (~55k messages/s batched here). It only knows
"profane or not", which we report as ``toxicity`` and ``obscene``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from safestream.moderation.contract import BackendUnavailable, ExecutorScorer, Scores


class ProfanityScorer(ExecutorScorer):
    name = "profanity"
    labels = ("toxicity", "obscene")

    def __init__(self) -> None:
        super().__init__()
        self._predict: Any = None

    def load_sync(self) -> None:
        try:
            from profanity_check import predict_prob
        except ImportError as exc:  # pragma: no cover - it is a core dependency
            raise BackendUnavailable("alt-profanity-check is not installed") from exc
        self._predict = predict_prob
        self._predict(["warm-up"])  # the first call pays scikit-learn's lazy set-up

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        probs = self._predict(list(texts))
        return [{"toxicity": float(p), "obscene": float(p)} for p in probs]
