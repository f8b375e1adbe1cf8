"""alt-profanity-check's TF-IDF + five calibrated linear SVMs without scikit-learn's fixed cost per call.

scikit-learn's ``TfidfVectorizer.transform`` builds a sparse matrix through
several validation and conversion layers: about 1-3 ms per call however few
texts it gets, which dominated the profanity stage for chat-sized batches and
a quiet room's single message. A chat line has a handful of words, so the
same arithmetic done directly on them costs microseconds:

1. tokens: the vectorizer's own analyzer (``build_analyzer``: lowercase,
   ``token_pattern``, stop words), kept only if in ``vocabulary_``;
2. tf-idf: count x ``idf_`` per distinct token, then divided by the row's L2
   norm (the vectorizer's ``norm="l2"``, no sublinear tf);
3. decision per SVM: intercept + the weighted sum of its weight rows;
4. sigmoid calibration per SVM, ``1 / (1 + exp(a * d + b))``, averaged.

``proba`` does this in plain Python (a few microseconds for a chat line);
``proba_batch`` gathers the tokens in Python and does steps 2-4 for the whole
batch in a handful of numpy calls, which is cheaper from a dozen texts on.

``build`` refuses any vectorizer whose settings this does not replicate
(n-grams, sublinear tf, another norm, no idf...), and the scorer checks the
result against the library's ``predict_proba`` at load time before using it.
The order of the floating-point sums differs from scipy's, so results agree to
~1e-15, not bit for bit.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: TfidfVectorizer parameters whose values the arithmetic below assumes.
_REQUIRED = {
    "analyzer": "word",
    "ngram_range": (1, 1),
    "norm": "l2",
    "use_idf": True,
    "sublinear_tf": False,
    "binary": False,
    "input": "content",
}


def _shortcut(vectorizer: Any, params: dict[str, Any]) -> str | None:
    """The token pattern when the vectorizer's analyzer is just ``findall(text.lower())``, else None.

    With no custom preprocessor or tokenizer and no accent stripping, the
    analyzer is ``token_pattern.findall(text.lower())`` minus stop words, and
    a stop word is never in ``vocabulary_`` (they are removed before the
    vocabulary is built), so skipping the stop-word filter changes no count.
    It halves the cost of tokenizing, and it is what lets the arrays be
    cached without scikit-learn (``arrays``).
    """
    stop_words = vectorizer.get_stop_words() or frozenset()
    if (
        params.get("preprocessor") is None
        and params.get("tokenizer") is None
        and params.get("strip_accents") is None
        and params.get("lowercase") is True
        and isinstance(params.get("token_pattern"), str)
        and not any(word in vectorizer.vocabulary_ for word in stop_words)
    ):
        return str(params["token_pattern"])
    return None


def _findall_lower(pattern: str) -> Callable[[str], list[str]]:
    findall = re.compile(pattern).findall
    return lambda text: findall(text.lower())


#: The arrays ``arrays`` writes and ``from_arrays`` reads (besides ``pattern``).
_ARRAYS = ("tokens", "idf", "weights", "intercepts", "a", "b")


class LinearTfidf:
    """``proba(text)`` / ``proba_batch(texts)``: the averaged calibrated probability of the positive class."""

    def __init__(
        self,
        analyzer: Callable[[str], list[str]],
        vocabulary: dict[str, int],
        idf: Any,
        stacked: Any,
        pattern: str | None = None,
    ) -> None:
        weights, intercepts, a, b = stacked
        self._analyze = analyzer
        #: The token pattern of a plain ``findall(text.lower())`` analyzer (None: the vectorizer's own).
        self.pattern = pattern
        self._vocabulary = vocabulary
        # numpy copies for batches, Python floats for one text (no numpy scalar overhead per token).
        self._idf, self._weights = np.asarray(idf, dtype=np.float64), np.asarray(weights, dtype=np.float64)
        self._a, self._b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        self._intercepts = np.asarray(intercepts, dtype=np.float64)
        table = self._weights.tolist()
        #: token -> (its idf, its weight in each SVM)
        self._rows = {token: (float(self._idf[j]), tuple(table[j])) for token, j in vocabulary.items()}
        self._calibration = tuple(zip(self._a.tolist(), self._b.tolist(), strict=True))
        # A text with no known token scores the intercepts alone (so do most emoji-only lines).
        self._empty = self._calibrate(self._intercepts.tolist())

    @classmethod
    def build(cls, vectorizer: Any, stacked: tuple[Any, Any, Any, Any]) -> LinearTfidf | None:
        """From a fitted TfidfVectorizer and the stacked SVMs (features x k, k, k, k), or None if not replicable."""
        try:
            params = vectorizer.get_params()
            if any(params.get(key) != value for key, value in _REQUIRED.items()):
                return None
            vocabulary: dict[str, int] = vectorizer.vocabulary_
            idf = vectorizer.idf_
            weights, intercepts = stacked[0], stacked[1]
            if weights.shape != (len(idf), len(intercepts)) or sorted(vocabulary.values()) != list(range(len(idf))):
                return None
            pattern = _shortcut(vectorizer, params)
            analyzer = _findall_lower(pattern) if pattern is not None else vectorizer.build_analyzer()
            return cls(analyzer, vocabulary, idf, stacked, pattern)
        except (AttributeError, TypeError, ValueError, IndexError):
            return None

    def arrays(self) -> dict[str, np.ndarray] | None:
        """Everything needed to rebuild this without scikit-learn, or None (a custom analyzer needs it)."""
        if self.pattern is None:
            return None
        tokens = sorted(self._vocabulary, key=self._vocabulary.__getitem__)
        return {
            "pattern": np.array(self.pattern),
            "tokens": np.array(tokens),
            "idf": self._idf,
            "weights": self._weights,
            "intercepts": self._intercepts,
            "a": self._a,
            "b": self._b,
        }

    @classmethod
    def from_arrays(cls, arrays: Any) -> LinearTfidf:
        """From what ``arrays`` returned (e.g. an ``np.load``-ed file); KeyError or ValueError if malformed."""
        tokens, idf, weights, intercepts, a, b = (arrays[name] for name in _ARRAYS)
        vocabulary = {str(token): j for j, token in enumerate(tokens.tolist())}
        if len(vocabulary) != len(idf) or weights.shape != (len(idf), len(intercepts)):
            raise ValueError("the cached arrays do not fit together")
        pattern = str(arrays["pattern"])
        return cls(_findall_lower(pattern), vocabulary, idf, (weights, intercepts, a, b), pattern)

    def _calibrate(self, decision: Sequence[float]) -> float:
        total = 0.0
        for d, (a, b) in zip(decision, self._calibration, strict=True):
            z = a * d + b
            # exp overflows past ~709; the probability there is below 1e-300 anyway.
            total += 0.0 if z > 700.0 else 1.0 / (1.0 + math.exp(z))
        return total / len(self._calibration)

    def proba(self, text: str) -> float:
        """One text in plain Python: the cheapest way for the few words of a chat line."""
        rows = self._rows
        known = [token for token in self._analyze(text) if token in rows]
        if not known:
            return self._empty
        if len(set(known)) == len(known):  # the usual chat line: every word once, tf = 1
            found = [rows[token] for token in known]
            weights = [idf for idf, _ in found]
        else:
            counts = Counter(known)
            found = [rows[token] for token in counts]
            weights = [count * idf for count, (idf, _) in zip(counts.values(), found, strict=True)]
        norm = math.sqrt(sum([w * w for w in weights]))
        decision: Sequence[float] = self._intercepts.tolist()
        for w, (_, coefs) in zip(weights, found, strict=True):
            x = w / norm
            decision = [d + x * c for d, c in zip(decision, coefs, strict=True)]
        return self._calibrate(decision)

    def proba_batch(self, texts: Sequence[str]) -> list[float]:
        """Many texts: tokens gathered in Python, the arithmetic done once for all of them in numpy."""
        get = self._vocabulary.get
        columns: list[int] = []
        counts: list[int] = []
        lengths: list[int] = []
        for text in texts:
            known = [j for j in map(get, self._analyze(text)) if j is not None]
            if len(set(known)) != len(known):
                tally = Counter(known)
                known, repeats = list(tally), list(tally.values())
                counts.extend(repeats)
            else:
                counts.extend([1] * len(known))
            columns.extend(known)
            lengths.append(len(known))
        out = np.full(len(texts), self._empty)
        if not columns:
            return out.tolist()
        sizes = np.asarray(lengths)
        scored = sizes > 0
        starts = np.concatenate(([0], np.cumsum(sizes[scored])[:-1]))
        index = np.asarray(columns, dtype=np.intp)
        tfidf = np.asarray(counts, dtype=np.float64) * self._idf[index]
        tfidf /= np.repeat(np.sqrt(np.add.reduceat(tfidf * tfidf, starts)), sizes[scored])
        decision = np.add.reduceat(self._weights[index] * tfidf[:, None], starts, axis=0) + self._intercepts
        # scikit-learn's _SigmoidCalibration.predict, expit(-(a * d + b)); exp's overflow is a 0 probability.
        with np.errstate(over="ignore"):
            out[scored] = (1.0 / (1.0 + np.exp(self._a * decision + self._b))).mean(axis=1)
        return out.tolist()
