"""The profanity stage's fast path (linear_tfidf) gives alt-profanity-check's own predict_proba, within 1e-9."""

from __future__ import annotations

import random
from collections.abc import Iterator

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


def test_a_fast_path_that_disagrees_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linear_tfidf.LinearTfidf, "proba_batch", lambda self, texts: [0.5] * len(texts))
    profanity.fast_path.cache_clear()  # built once per process: this test needs a build of its own
    try:
        scorer = ProfanityScorer()
        scorer.load_sync()
        assert scorer._fast is None
        texts = ["fuck this", "have a lovely evening"]
        assert [s["toxicity"] for s in scorer.predict(texts)] == library(texts)
    finally:
        profanity.fast_path.cache_clear()


def test_settings_it_does_not_replicate_are_refused(scorer: ProfanityScorer) -> None:
    from sklearn.base import clone

    bigrams = clone(scorer._vectorizer).set_params(ngram_range=(1, 2))
    bigrams.fit(["a tiny corpus of words", "another tiny corpus"])
    stacked = profanity._stack(scorer._model)
    assert stacked is not None
    assert linear_tfidf.LinearTfidf.build(bigrams, stacked) is None
    assert linear_tfidf.LinearTfidf.build(scorer._vectorizer, stacked) is not None
