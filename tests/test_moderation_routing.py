"""Band routing and the verdict cache: what the sentence stage must read when it cannot read everything."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from safestream.moderation.contract import Scorer, Scores
from safestream.moderation.engine import ModerationEngine, Stage
from safestream.moderation.normalize import normalize
from safestream.moderation.routing import Router
from safestream.settings import Settings

MUST_READ = {
    "women are too emotional to lead": "group",
    "immigrants should not be allowed to vote": "group",
    "those people ruin everything": "group",
    "you are a clown": "second_person",
    "you're pathetic": "second_person",
    "ur so dumb lol": "second_person",
    "u r a joke": "second_person",
    "your mom plays better": "second_person",
    "shut up you donkey": "imperative",
    "go die": "imperative",
    "lol you noob": "second_person",
    "get lost, nobody asked": "imperative",
    "are you blind or what": "second_person",
    "the streamer is a clown": "third_person",
    "mods are useless": "third_person",
    "what the fuck is this": "terms",
    "f.u.c.k this stream": "terms",
}
PLAIN = [
    "gg",
    "lol",
    "that was a clean round",
    "thank you for the stream",
    "see you tomorrow",
    "love you all",
    "can you play the new map",
    "what do you think about the patch",
    "hello from brazil",
    "is this 1080p?",
    "do you play valorant",
    "first time here",
    "the boss fight is next",
    "what a race",
    "he is back",
    "she's streaming later",
]
#: alt-profanity-check scores these above the band's low end (0.28 and 0.36), so the real chain reads them.
CHEAP_STAGE_UNSURE = {"gg", "the boss fight is next"}


@pytest.mark.parametrize(("text", "reason"), sorted(MUST_READ.items()))
def test_person_directed_group_and_term_texts_route_to_the_model(text: str, reason: str) -> None:
    assert Router(0.15).reason(normalize(text), 0.0) == reason


@pytest.mark.parametrize("text", PLAIN)
def test_plain_chat_does_not_route(text: str) -> None:
    assert Router(0.15).reason(normalize(text), 0.0) is None


def test_an_unsure_cheap_score_routes() -> None:
    router = Router(0.15)
    assert router.reason("nice one", 0.2) == "band" and router.reason("nice one", 0.1) is None


class Recording(Scorer):
    """Scores nothing, but records every text it was asked to read."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        self.seen.extend(texts)
        return [{"toxicity": 0.5} for _ in texts]


async def test_the_real_default_chain_in_band_mode_reads_what_it_must_and_skips_plain_chat() -> None:
    """The real cheap stage (alt-profanity-check) decides the band; the sentence stage is recorded."""
    settings = Settings(env="test", moderation="profanity").validated()
    cheap = ModerationEngine.from_settings(settings).stages[0]
    model = Recording()
    engine = ModerationEngine([cheap, Stage("sentence", model, True)], band=settings.cascade_band)
    await engine.load()
    try:
        texts = [*MUST_READ, *PLAIN]
        results = await engine.assess(texts)
    finally:
        await engine.close()
    read = {text for text, r in zip(texts, results, strict=True) if r.escalated}
    assert set(MUST_READ) <= read
    assert not read & (set(PLAIN) - CHEAP_STAGE_UNSURE), read & set(PLAIN)
    assert set(model.seen) == {normalize(t) for t in read}


async def test_everything_reaches_the_model_while_it_keeps_up() -> None:
    model = Recording()
    engine = ModerationEngine([Stage("cheap", Recording(), False), Stage("sentence", model, True)])
    results = await engine.assess(PLAIN, escalate_all=True)
    assert all(r.escalated for r in results) and len(model.seen) == len(PLAIN)


async def test_a_copy_paste_flood_is_scored_once_and_every_copy_gets_the_verdict() -> None:
    model = Recording()
    engine = ModerationEngine([Stage("sentence", model, True)])
    flood = ["you are a clown"] * 50 + ["YOU are a   clowwwwn"]  # the same once normalized
    first = await engine.assess(flood)
    again = await engine.assess(["you are a clown"])
    assert model.seen == ["you are a clown"]
    assert all(r.scores == {"toxicity": 0.5} and r.escalated for r in first + again)
    first[0].scores["toxicity"] = 1.0  # a caller's copy is its own
    assert (await engine.assess(["you are a clown"]))[0].scores == {"toxicity": 0.5}


async def test_a_verdict_the_model_did_not_read_is_not_reused_when_it_must_read_everything() -> None:
    model = Recording()
    engine = ModerationEngine([Stage("cheap", Recording(), False), Stage("sentence", model, True)], band=(0.9, 0.95))
    [band] = await engine.assess(["gg"])
    assert not band.escalated and model.seen == []
    [full] = await engine.assess(["gg"], escalate_all=True)
    assert full.escalated and model.seen == ["gg"]


async def test_failed_verdicts_are_not_cached() -> None:
    class Flaky(Scorer):
        calls = 0

        async def score(self, texts: Sequence[str]) -> list[Scores]:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("model exploded")
            return [{"toxicity": 0.9} for _ in texts]

    engine = ModerationEngine([Stage("sentence", Flaky(), True)])
    [failed] = await engine.assess(["you are a clown"])
    [scored] = await engine.assess(["you are a clown"])
    assert failed.failed and not scored.failed and scored.scores == {"toxicity": 0.9}


async def test_the_cache_is_bounded() -> None:
    engine = ModerationEngine([Stage("sentence", Recording(), True)], cache_size=8)
    await engine.assess([f"message {i}" for i in range(100)])
    assert len(engine.cache) == 8
