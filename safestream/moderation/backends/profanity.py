"""alt-profanity-check: a TF-IDF + calibrated linear SVM shipped inside the package.

Works offline with no downloads. It only knows "profane or not", which we
report as ``toxicity`` and ``obscene``.

Its model is five LinearSVCs, each with a sigmoid calibrator, averaged.
scikit-learn evaluates them through ``TfidfVectorizer.transform`` and
``predict_proba``, which cost 1-3 ms per call however few texts it gets (input
validation and sparse-matrix plumbing); a chat batch is a few dozen short
lines. Here the same arithmetic runs without them (``linear_tfidf``: the
vectorizer's own analyzer, vocabulary, idf and norm, the five weight vectors
stacked): per text in plain Python for a few texts, in one numpy pass for a
batch; about 5-10 microseconds a line either way.
The fast path is checked against the library's own ``predict_proba`` at load
time on ``PROBE`` and is not used unless they agree within 1e-9.

Importing the library costs 1.6-2 s of CPU holding the GIL (scikit-learn
pulls in scipy, which builds docstrings at import), and a server loads its
chain after it starts listening, so after a deploy that import competed with
every client reconnecting at once. The checked arrays are therefore cached
(``model_cache``, keyed by the sha256 of the package's two model files) with
the library's answers on ``PROBE``: a later start rebuilds the fast path from
them, checks it against those answers, and never imports scikit-learn.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from safestream.moderation.backends.linear_tfidf import LinearTfidf
from safestream.moderation.contract import BackendUnavailable, ExecutorScorer, Scores
from safestream.moderation.model_cache import cache_root, replace_atomically

log = logging.getLogger(__name__)

#: Checked at load time: plain chat, insults, profanity, repeats, stop words only,
#: no known word, empty, emoji, other scripts, capitals and a long line.
PROBE = [
    "have a lovely evening",
    "you are a stupid idiot",
    "fuck this shit",
    "gg wp",
    "what a save",
    "shit shit shit fuck",
    "the and of it is",
    "zzqx blorf",
    "",
    "🔥🔥🔥",
    "привет всем",
    "WHAT THE HELL",
    "the last round was wild, lets see if the next map is crazy too, good luck everyone " * 5,
]


#: How far the fast path may stray from the library's predict_proba (the sums run in another order).
TOLERANCE = 1e-9
#: From this many texts a call takes the numpy batch path (measured: cheaper than one by one from ~8 on).
BATCH_FROM = 8


class ProfanityScorer(ExecutorScorer):
    name = "profanity"
    labels = ("toxicity", "obscene")
    #: A read-only model whose cost for a few texts is mostly its fixed cost per call: no hop for those.
    inline_max = 16

    def __init__(self) -> None:
        super().__init__()
        self._vectorizer: Any = None
        self._model: Any = None
        self._fast: LinearTfidf | None = None

    def load_sync(self) -> None:
        cached = cache_file()
        self._fast = cached_fast_path(cached) if cached is not None else None
        if self._fast is not None:
            return
        try:
            from profanity_check import profanity_check as pc
        except ImportError as exc:  # pragma: no cover - it is a core dependency
            raise BackendUnavailable("alt-profanity-check is not installed") from exc
        self._vectorizer, self._model = pc.vectorizer, pc.model
        self._fast = fast_path(self._vectorizer, self._model)
        if self._fast is not None and cached is not None:
            save_fast_path(self._fast, cached, library_proba(self._vectorizer, self._model, PROBE))

    def _library_proba(self, texts: Sequence[str]) -> list[float]:
        return library_proba(self._vectorizer, self._model, texts)

    def predict(self, texts: Sequence[str]) -> list[Scores]:
        if self._fast is None:
            probs = self._library_proba(texts)
        elif len(texts) < BATCH_FROM:
            probs = [self._fast.proba(text) for text in texts]
        else:
            probs = self._fast.proba_batch(texts)
        return [{"toxicity": p, "obscene": p} for p in probs]


def library_proba(vectorizer: Any, model: Any, texts: Sequence[str]) -> list[float]:
    """The library's own answer (the reference the fast path is checked against)."""
    return [float(p) for p in model.predict_proba(vectorizer.transform(list(texts)))[:, 1]]


def _stack(model: Any) -> tuple[Any, Any, Any, Any] | None:
    """(weights F x k, intercepts k, sigmoid a k, sigmoid b k), or None if the model is not as expected."""
    try:
        parts = model.calibrated_classifiers_
        if model.method != "sigmoid" or list(model.classes_) != [0, 1]:
            return None
        weights = np.vstack([p.estimator.coef_[0] for p in parts]).T
        intercepts = np.array([p.estimator.intercept_[0] for p in parts])
        a = np.array([p.calibrators[0].a_ for p in parts])
        b = np.array([p.calibrators[0].b_ for p in parts])
    except (AttributeError, IndexError, TypeError):
        return None
    return weights, intercepts, a, b


@functools.lru_cache(maxsize=4)
def fast_path(vectorizer: Any, model: Any) -> LinearTfidf | None:
    """The checked fast path for the library's (process-wide, read-only) model, built once per process.

    Building it walks the whole vocabulary (about a second); every app in a
    process (the test suite builds hundreds) shares the one the first load made.
    """
    stacked = _stack(model)
    fast = LinearTfidf.build(vectorizer, stacked) if stacked is not None else None
    if fast is None:
        log.warning("alt-profanity-check's model changed shape; using its own predict_proba")
        return None
    slow = library_proba(vectorizer, model, PROBE)
    if not (agree([fast.proba(text) for text in PROBE], slow) and agree(fast.proba_batch(PROBE), slow)):
        log.warning("alt-profanity-check's fast path disagrees with predict_proba; using the library")
        return None
    return fast


def agree(fast: Sequence[float], slow: Sequence[float]) -> bool:
    return len(fast) == len(slow) and all(abs(f - s) <= TOLERANCE for f, s in zip(fast, slow, strict=True))


#: Bump when what ``save_fast_path`` writes changes.
CACHE_VERSION = 1


def cache_file() -> Path | None:
    """Where the fast path for the installed package's model is cached, or None if its files are not found."""
    spec = importlib.util.find_spec("profanity_check")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    digest = hashlib.sha256()
    for name in ("vectorizer.joblib", "model.joblib"):
        try:
            digest.update(name.encode() + (data / name).read_bytes())
        except OSError:
            return None
    return cache_root() / "profanity" / f"linear-tfidf-{digest.hexdigest()[:32]}-v{CACHE_VERSION}.npz"


def save_fast_path(fast: LinearTfidf, path: Path, expected: Sequence[float]) -> None:
    """Writes the checked arrays with the library's answers on PROBE; a failure only costs the next start."""
    arrays = fast.arrays()
    if arrays is None:
        return
    try:
        replace_atomically(path, lambda tmp: _write_npz(tmp, {**arrays, "expected": np.asarray(expected)}))
    except OSError as exc:
        log.warning("cannot cache the profanity stage's arrays in %s: %s", path, exc)
    cached_fast_path.cache_clear()


def _write_npz(tmp: str, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as handle:  # a file object: np.savez would append ".npz" to a name
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as its allow_pickle flag


@functools.lru_cache(maxsize=4)
def cached_fast_path(path: Path) -> LinearTfidf | None:
    """The fast path from ``path`` if it holds one that still gives the library's answers, else None."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            fast = LinearTfidf.from_arrays(stored)
            expected = stored["expected"].tolist()
    except (OSError, KeyError, ValueError) as exc:
        log.warning("ignoring the cached profanity arrays %s: %s", path, exc)
        return None
    if not (agree([fast.proba(text) for text in PROBE], expected) and agree(fast.proba_batch(PROBE), expected)):
        log.warning("the cached profanity arrays %s disagree with the library's answers; rebuilding", path)
        return None
    return fast
