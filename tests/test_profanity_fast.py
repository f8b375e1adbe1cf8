"""The profanity stage's fast path (linear_tfidf) gives alt-profanity-check's own predict_proba, within 1e-9."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from safestream.moderation.backends import linear_tfidf, profanity
from safestream.moderation.backends.profanity import BATCH_FROM, TOLERANCE, ProfanityScorer

VARIED = [
    "",
    " ",
    "🔥🔥🔥",
    "😂😂😂 👍",
    "привет всем, как дела",
    "日本語のチャット",
    "안녕하세요",
    "καλημέρα σε όλους",
    "güzel oyun, très bien joué",
    "gg",
    "gg gg gg",
    "GG WP",
    "fuck",
    "fuck fuck fuck shit",
    "FUCK THIS SHIT",
    "you are a stupid idiot",
    "shut up you dumb idiot",
    "have a lovely evening",
    "the and of it is a",  # stop words only
    "zzqx blorf wibble",  # no known word
    "a b c d e",  # one-letter tokens are not tokens
    "sh1t 100 1080p 4:30 $5k",
    "what the hell was that, what the hell",
    "my_name_is_here and snake_case_words",
    "idiot " * 400,
    "the last round was wild, lets see if the next map is crazy too, good luck everyone " * 20,
    "kill yourself",
    "i hate women",
    "holy shit what a play",
]


def random_chat(count: int, seed: int) -> Iterator[str]:
    """Random lines over a vocabulary mixing plain chat, profanity, insults and non-words."""
    rng = random.Random(seed)
    words = ("gg", "lol", "you", "are", "so", "bad", "the", "stream", "fuck", "shit", "idiot", "stupid", "hell")
    words += ("damn", "love", "great", "play", "bitch", "ass", "moron", "clown", "🔥", "привет", "über", "x", "the")
    for _ in range(count):
        yield " ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))


@pytest.fixture(scope="module")
def scorer() -> Iterator[ProfanityScorer]:
    scorer = ProfanityScorer()
    scorer.load_sync()
    yield scorer


def library(texts: list[str]) -> list[float]:
    from profanity_check import predict_prob

    return [float(p) for p in predict_prob(texts)]


def test_the_fast_path_is_in_use(scorer: ProfanityScorer) -> None:
    assert scorer._fast is not None


def test_one_text_at_a_time_equals_the_library(scorer: ProfanityScorer) -> None:
    texts = [*VARIED, *random_chat(300, 1)]
    assert scorer._fast is not None
    got = [scorer._fast.proba(text) for text in texts]
    assert max(abs(g - r) for g, r in zip(got, library(texts), strict=True)) <= TOLERANCE


def test_a_batch_equals_the_library(scorer: ProfanityScorer) -> None:
    texts = [*VARIED, *random_chat(300, 2)]
    assert scorer._fast is not None
    got = scorer._fast.proba_batch(texts)
    assert max(abs(g - r) for g, r in zip(got, library(texts), strict=True)) <= TOLERANCE


@pytest.mark.parametrize("size", [1, BATCH_FROM - 1, BATCH_FROM, 100])
def test_predict_equals_the_library_at_every_batch_size(scorer: ProfanityScorer, size: int) -> None:
    texts = (VARIED * 4)[:size]
    got = [s["toxicity"] for s in scorer.predict(texts)]
    assert max(abs(g - r) for g, r in zip(got, library(texts), strict=True)) <= TOLERANCE
    assert all(s["obscene"] == s["toxicity"] for s in scorer.predict(texts))


def test_a_batch_with_no_known_word_at_all(scorer: ProfanityScorer) -> None:
    texts = ["", "🔥", "zzqx"] * BATCH_FROM
    assert scorer._fast is not None
    got = scorer._fast.proba_batch(texts)
    assert max(abs(g - r) for g, r in zip(got, library(texts), strict=True)) <= TOLERANCE


def test_a_fast_path_that_disagrees_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SAFESTREAM_DATA_DIR", str(tmp_path))  # no cached arrays: the build is checked
    monkeypatch.setattr(linear_tfidf.LinearTfidf, "proba_batch", lambda self, texts: [0.5] * len(texts))
    profanity.fast_path.cache_clear()  # built once per process: this test needs a build of its own
    try:
        scorer = ProfanityScorer()
        scorer.load_sync()
        assert scorer._fast is None
        texts = ["fuck this", "have a lovely evening"]
        assert [s["toxicity"] for s in scorer.predict(texts)] == library(texts)
        assert not (tmp_path / "cache" / "profanity").exists()  # a refused fast path is never cached
    finally:
        profanity.fast_path.cache_clear()


LATER_START = """
import json, sys
from safestream.moderation.backends.profanity import ProfanityScorer
scorer = ProfanityScorer()
scorer.load_sync()
texts = json.loads(sys.argv[1])
print(json.dumps({"sklearn": "sklearn" in sys.modules, "scores": [s["toxicity"] for s in scorer.predict(texts)]}))
"""


def _start(data_dir: Path, texts: list[str]) -> dict[str, object]:
    env = {**os.environ, "SAFESTREAM_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-c", LATER_START, json.dumps(texts)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.slow
def test_a_later_start_scores_from_the_cached_arrays_without_importing_scikit_learn(tmp_path: Path) -> None:
    """A deploy's restart must not spend 2 s of GIL on imports while every client reconnects."""
    texts = [*VARIED, *random_chat(50, 3)]
    first = _start(tmp_path, texts)
    assert first["sklearn"] is True and len(list((tmp_path / "cache" / "profanity").glob("*.npz"))) == 1
    later = _start(tmp_path, texts)
    assert later["sklearn"] is False
    expected = library(texts)
    for run in (first, later):
        scores = run["scores"]
        assert isinstance(scores, list)
        assert max(abs(g - r) for g, r in zip(scores, expected, strict=True)) <= TOLERANCE


def _cached_scorer(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ProfanityScorer, Path]:
    monkeypatch.setenv("SAFESTREAM_DATA_DIR", str(data_dir))
    profanity.cached_fast_path.cache_clear()
    scorer = ProfanityScorer()
    scorer.load_sync()
    path = profanity.cache_file()
    assert path is not None and path.is_file() and scorer._fast is not None
    return scorer, path


@pytest.mark.parametrize("damage", ["weights", "garbage"])
def test_cached_arrays_that_are_damaged_are_refused_and_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    _, path = _cached_scorer(tmp_path, monkeypatch)
    if damage == "garbage":
        path.write_bytes(b"not an npz file")
    else:  # a well-formed file whose weights no longer give the library's answers
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        arrays["weights"] = arrays["weights"] * 1.01
        with path.open("wb") as handle:
            np.savez(handle, **arrays)
    profanity.cached_fast_path.cache_clear()
    assert profanity.cached_fast_path(path) is None
    scorer, path = _cached_scorer(tmp_path, monkeypatch)  # rebuilt from the library, and cached again
    texts = [*VARIED, *random_chat(100, 4)]
    assert [s["toxicity"] for s in scorer.predict(texts)] == pytest.approx(library(texts), abs=TOLERANCE)
    profanity.cached_fast_path.cache_clear()
    assert profanity.cached_fast_path(path) is not None


def test_settings_it_does_not_replicate_are_refused() -> None:
    from profanity_check import profanity_check as pc
    from sklearn.base import clone

    bigrams = clone(pc.vectorizer).set_params(ngram_range=(1, 2))
    bigrams.fit(["a tiny corpus of words", "another tiny corpus"])
    stacked = profanity._stack(pc.model)
    assert stacked is not None
    assert linear_tfidf.LinearTfidf.build(bigrams, stacked) is None
    assert linear_tfidf.LinearTfidf.build(pc.vectorizer, stacked) is not None
