"""alt-profanity-check: a TF-IDF + calibrated linear SVM shipped inside the package.

Works offline with no downloads. It only knows "profane or not", which we
report as ``toxicity`` and ``obscene``.

Its model is five LinearSVCs, each with a sigmoid calibrator, averaged.
scikit-learn evaluates them one by one with input validation each time; here
the five weight vectors are stacked into one matrix at load time so a batch
costs one sparse product and a vectorized sigmoid (about twice as fast, and
a lower fixed cost per call). The fast path is checked against the library's
own ``predict_proba`` at load time and is not used unless they agree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from safestream.moderation.contract import BackendUnavailable, ExecutorScorer, Scores

log = logging.getLogger(__name__)

PROBE = ["have a lovely evening", "you are a stupid idiot", "fuck this shit", "gg wp", "what a save"]


class ProfanityScorer(ExecutorScorer):
    name = "profanity"
    labels = ("toxicity", "obscene")
    #: A read-only model whose cost for a few texts is mostly its fixed cost per call: no hop for those.
    inline_max = 16

    def __init__(self) -> None:
        super().__init__()
        self._vectorizer: Any = None
        self._model: Any = None
        self._fast: tuple[Any, Any, Any, Any] | None = None

    def load_sync(self) -> None:
        try:
            from profanity_check import profanity_check as pc
        except ImportError as exc:  # pragma: no cover - it is a core dependency
            raise BackendUnavailable("alt-profanity-check is not installed") from exc
        self._vectorizer, self._model = pc.vectorizer, pc.model
        self._fast = self._stack()
        slow = self._model.predict_proba(self._vectorizer.transform(PROBE))[:, 1]
        if self._fast is not None and not np.allclose(self._fast_proba(PROBE), slow, atol=1e-9):
            log.warning("alt-profanity-check's model changed shape; using its own predict_proba")
            self._fast = None

    def _stack(self) -> tuple[Any, Any, Any, Any] | None:
        """(weights F x k, intercepts k, sigmoid a k, sigmoid b k), or None if the model is not as expected."""
        try:
            parts = self._model.calibrated_classifiers_
            if self._model.method != "sigmoid" or list(self._model.classes_) != [0, 1]:
                return None
            weights = np.vstack([p.estimator.coef_[0] for p in parts]).T
            intercepts = np.array([p.estimator.intercept_[0] for p in parts])
            a = np.array([p.calibrators[0].a_ for p in parts])
            b = np.array([p.calibrators[0].b_ for p in parts])
        except (AttributeError, IndexError, TypeError):
            return None
        return weights, intercepts, a, b

    def _fast_proba(self, texts: Sequence[str]) -> Any:
        assert self._fast is not None  # only called when the fast path exists
        weights, intercepts, a, b = self._fast
        decision = self._vectorizer.transform(texts) @ weights + intercepts
        return (1.0 / (1.0 + np.exp(a * decision + b))).mean(axis=1)

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        if self._fast is not None:
            probs = self._fast_proba(texts)
        else:
            probs = self._model.predict_proba(self._vectorizer.transform(list(texts)))[:, 1]
        return [{"toxicity": float(p), "obscene": float(p)} for p in probs]
