"""The moderation engine and batcher, with scripted scorers at the model boundary."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from safestream.errors import Busy, ConfigError, ShuttingDown
from safestream.moderation import registry
from safestream.moderation.batcher import MicroBatcher
from safestream.moderation.contract import Scorer, Scores
from safestream.moderation.engine import ModerationEngine, Stage
from safestream.moderation.policy import Policy
from safestream.settings import Settings


class Scripted(Scorer):
    """Scores from a table (by substring), recording every call it gets."""

    def __init__(self, table: dict[str, float], *, delay: float = 0.0, fail: bool = False) -> None:
        self.table, self.delay, self.fail = table, delay, fail
        self.calls: list[list[str]] = []

    async def score(self, texts: Sequence[str]) -> list[Scores]:
        self.calls.append(list(texts))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("model exploded")
        return [{"toxicity": max((v for k, v in self.table.items() if k in t), default=0.0)} for t in texts]


def engine(*stages: tuple[Scorer, bool], timeout: float = 1.0) -> ModerationEngine:
    return ModerationEngine(
        [Stage(f"s{i}", s, exp) for i, (s, exp) in enumerate(stages)], timeout=timeout, band=(0.15, 0.85)
    )


async def test_cascade_sends_all_but_clearly_clean_texts_to_the_expensive_stage() -> None:
    cheap = Scripted({"sure": 0.99, "maybe": 0.5})
    expensive = Scripted({"maybe": 0.1, "women": 0.9, "you": 0.8})
    texts = ["clean text", "sure thing", "maybe so", "women cannot lead", "you are one"]
    results = await engine((cheap, False), (expensive, True)).assess(texts)
    assert cheap.calls == [texts]
    # Only the text the cheap stage found clearly clean, with no group and no "you", is skipped.
    assert expensive.calls == [["sure thing", "maybe so", "women cannot lead", "you are one"]]
    assert [r.escalated for r in results] == [False, True, True, True, True]
    # The sentence stage's verdict replaces the cheap one for the labels it reports.
    assert [r.scores["toxicity"] for r in results] == [0.0, 0.0, 0.1, 0.9, 0.8]
    assert results[3].sources == {"toxicity": "s1"}


async def test_the_lexical_obscene_score_survives_the_sentence_stage() -> None:
    class Lexical(Scorer):
        async def score(self, texts: Sequence[str]) -> list[Scores]:
            return [{"toxicity": 0.97, "obscene": 0.97} for _ in texts]

    class Sentence(Scorer):
        async def score(self, texts: Sequence[str]) -> list[Scores]:
            return [{"toxicity": 0.05, "obscene": 0.6} for _ in texts]

    [result] = await engine((Lexical(), False), (Sentence(), True)).assess(["holy shit what a play"])
    assert result.scores == {"toxicity": 0.05, "obscene": 0.97}


async def test_without_a_cheap_stage_the_expensive_one_scores_everything() -> None:
    only = Scripted({"bad": 0.9})
    results = await engine((only, True)).assess(["good", "bad"])
    assert only.calls == [["good", "bad"]] and results[1].score == 0.9


@pytest.mark.parametrize("failure", ["error", "timeout"])
async def test_failure_and_timeout_give_the_configured_verdict(failure: str) -> None:
    broken = Scripted({}, fail=failure == "error", delay=0.5 if failure == "timeout" else 0.0)
    results = await engine((broken, False), timeout=0.1).assess(["hello"])
    assert results[0].failed is True
    for configured in ("hold", "block", "flag"):
        policy = Policy.default(0.7, failure_action=configured)
        decision = policy.judge("hello", results[0].normalized, results[0].scores, failed=True)
        assert decision.action == configured and decision.toxic


async def test_concurrent_messages_share_model_calls() -> None:
    model = Scripted({}, delay=0.02)
    eng = engine((model, False))
    batcher: MicroBatcher[str, object] = MicroBatcher(lambda items: eng.assess(items), max_batch=64)
    batcher.start()
    try:
        results = await asyncio.gather(*(batcher.submit(f"message {i}") for i in range(100)))
    finally:
        await batcher.close()
    assert len(results) == 100
    assert len(model.calls) < 10  # 100 messages, a handful of batched calls
    assert [t for call in model.calls for t in call] == [f"message {i}" for i in range(100)]  # order kept


async def test_a_lone_message_is_not_delayed_by_batching() -> None:
    model = Scripted({})
    eng = engine((model, False))
    batcher: MicroBatcher[str, object] = MicroBatcher(lambda items: eng.assess(items))
    batcher.start()
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await batcher.submit("hi")
        assert model.calls == [["hi"]]
        assert loop.time() - started < 0.05
    finally:
        await batcher.close()


async def test_a_full_queue_refuses_with_busy() -> None:
    gate = asyncio.Event()

    async def slow(items: list[str]) -> list[str]:
        await gate.wait()
        return items

    batcher: MicroBatcher[str, str] = MicroBatcher(slow, max_batch=1, max_queue=2)
    batcher.start()
    first = batcher.submit("a")
    await asyncio.sleep(0)  # the first item is taken into a batch
    queued = [batcher.submit("b"), batcher.submit("c")]
    with pytest.raises(Busy):
        batcher.submit("d")
    gate.set()
    assert await asyncio.gather(first, *queued) == ["a", "b", "c"]
    await batcher.close()


async def test_a_batch_may_answer_an_item_later_with_a_future_of_its_own() -> None:
    loop = asyncio.get_running_loop()
    later: dict[str, asyncio.Future[str]] = {"b": loop.create_future(), "c": loop.create_future()}
    later["d"] = loop.create_future()

    async def answer(items: list[str]) -> list[str | asyncio.Future[str]]:
        return [later.get(item, item) for item in items]

    batcher: MicroBatcher[str, str] = MicroBatcher(answer)
    batcher.start()
    try:
        waiters = [batcher.submit(item) for item in "abcd"]
        assert await waiters[0] == "a"
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters[1:])  # the batch is over; their answers are not
        later["b"].set_result("b, read")
        later["c"].set_exception(RuntimeError("the read failed"))
        later["d"].cancel()
        assert await waiters[1] == "b, read"
        with pytest.raises(RuntimeError, match="the read failed"):
            await waiters[2]
        with pytest.raises(ShuttingDown):  # a cancelled answer is still an answer
            await waiters[3]
    finally:
        await batcher.close()


async def test_scores_are_computed_on_normalized_text() -> None:
    model = Scripted({"fuck": 1.0})
    results = await engine((model, False)).assess(["f.u.c.k", "ｆｕｃｋ", "fuuuuck"])
    assert [r.score for r in results] == [1.0, 1.0, 1.0]


def test_registry_chain_parsing() -> None:
    assert registry.expand("default") == ["profanity", "sentence"]
    assert registry.expand("default", disable_transformers=True) == ["profanity"]
    assert registry.expand("keywords, detoxify:original") == ["keywords", "detoxify:original"]
    assert registry.expand("profanity,detoxify:original", disable_transformers=True) == ["profanity"]
    assert registry.expand("detoxify:original", disable_transformers=True) == ["profanity"]  # never empty
    with pytest.raises(ConfigError, match="unknown moderation backend 'nope'"):
        registry.expand("nope")
    with pytest.raises(ConfigError, match="needs an argument"):
        registry.build("detoxify")
    with pytest.raises(ConfigError, match="cannot be imported"):
        registry.build("no_such_pkg.mod:Thing")
    with pytest.raises(ConfigError, match="not a safestream"):
        registry.build("collections:OrderedDict")


async def test_default_chain_is_real_and_offline() -> None:
    eng = ModerationEngine.from_settings(Settings())
    await eng.load()
    try:
        clean, toxic = await eng.assess(["have a lovely evening", "you stupid worthless idiot"])
    finally:
        await eng.close()
    assert clean.score < 0.3 < 0.7 < toxic.score


async def test_escalate_all_sends_everything_to_the_expensive_stage() -> None:
    cheap, expensive = Scripted({"sure": 0.99, "hidden": 0.0}), Scripted({"hidden": 0.9})
    results = await engine((cheap, False), (expensive, True)).assess(["hidden insult", "sure"], escalate_all=True)
    assert expensive.calls == [["hidden insult", "sure"]]
    # The sentence stage reads meaning: its toxicity replaces the lexical one (only
    # ``obscene`` keeps the lexical maximum, see test_the_lexical_obscene_score_...).
    assert [r.score for r in results] == [0.9, 0.0]


async def test_profanity_fast_path_matches_the_library() -> None:
    from profanity_check import predict_prob

    from safestream.moderation.backends.profanity import ProfanityScorer

    texts = [
        "have a lovely evening",
        "you stupid worthless idiot",
        "what the hell",
        "gg wp",
        "kill yourself",
        "I love this song",
        "shut up",
        "you absolute legend",
        "damn son",
        "",
    ] * 7
    scorer = ProfanityScorer()
    await scorer.load()
    try:
        assert scorer._fast is not None  # the fast path is in use
        got = [s["toxicity"] for s in await scorer.score(texts)]
    finally:
        await scorer.close()
    assert max(abs(g - r) for g, r in zip(got, predict_prob(texts), strict=True)) < 1e-9
