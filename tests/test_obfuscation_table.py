"""Issue 10.5: obfuscated abuse is caught (recall >= 0.95), innocent look-alikes never are.

The whole default chain (normalizer, term lists, alt-profanity-check, sentence
stage) and the default policy, as the server runs them. Written by us; none of
these sentences are in the training data (data/moderation/own/cases.csv).
"""

from __future__ import annotations

import asyncio

import pytest

from safestream.moderation.engine import ModerationEngine
from safestream.moderation.policy import Policy
from safestream.settings import Settings

OBFUSCATED_ABUSE = [
    "you are a f.u.c.k.i.n.g idiot",
    "sh1t streamer, go home",
    "$h!7 stream, uninstall",
    "shut up b*i*t*c*h",
    "you stupid b!tch",
    "f u c k you",
    "fuuuuuck youuuu",
    "go f\u200bu\u200bc\u200bk yourself",
    "you are a m\u200co\u200dr\u2060o\u200bn",
    "ｆｕｃｋ ｙｏｕ loser",
    "𝐲𝐨𝐮 𝐚𝐫𝐞 𝐚 𝐩𝐚𝐭𝐡𝐞𝐭𝐢𝐜 𝐢𝐝𝐢𝐨𝐭",
    "𝓯𝓾𝓬𝓴 𝓸𝓯𝓯",
    "ꓝuck you ꓢhithead",
    "fuсk yоu",  # Cyrillic es and o
    "ΙDΙΟΤ streamer",  # Greek capitals
    "you are an 1d10t",
    "kys loser",
    "k.y.s",
    "a$$hole",
    "you @sshole",
    "d u m b a s s",
    "dumb@ss streamer",
    "p1ece of sh1t",
    "st*pid wh*re",
    "you're a c.u.n.t",
    "🅵🆄🅲🅺 🆈🅾🆄",
    "ⓕⓤⓒⓚ ⓨⓞⓤ",
    "ꜰᴜᴄᴋ ᴏꜰꜰ",
    "f̸u̷c̵k̴ you",
    "f-u-c-k off",
    "i will k1ll you",
    "i'm going to h.u.r.t you",
    "you are a w0rthless l0ser",
    "eat sh!t and d!e",
    "s t u p i d b i t c h",
    "fück dich",
    "go to h3ll you m0r0n",
    "b1tch please, you suck",
    "you f*cking clown",
    "u r such a pathetic l.o.s.e.r",
    "f**k off you clown",
    "what a c*nt",
    "fvck you",
    "phuck off streamer",
]
INNOCENT_LOOKALIKES = [
    "greetings from scunthorpe!",
    "we stopped at penistone on the way",
    "my aunt lives in middlesex",
    "dick van dyke is my favourite actor",
    "she graduated summa cum laude",
    "shiitake risotto for dinner",
    "arsenal play tonight",
    "assassin's creed looks great on this rig",
    "cockburnspath is a village in scotland",
    "charles dickens wrote great expectations",
    "that was a sick clutch",
    "you absolutely killed it",
    "you're a beast with the awp",
    "what a filthy flick, nice",
    "headshot! so clean",
    "the sea bass was great",
    "a glass of pinot grigio please",
    "sussex is beautiful in spring",
    "we played cuphead all night",
    "hancock is a good movie",
    "carpe diem everyone",
    "passionfruit cocktails are the best",
    "the class starts at nine",
    "great tits are nesting in the garden",
]


@pytest.fixture(scope="module")
def judged() -> dict[str, str]:
    return asyncio.run(_judged())


async def _judged() -> dict[str, str]:
    settings = Settings(env="test", cascade="all").validated()
    engine = ModerationEngine.from_settings(settings)
    await engine.load()
    try:
        policy = Policy.default(settings.toxic_threshold, failure_action=settings.moderation_failure_action)
        texts = OBFUSCATED_ABUSE + INNOCENT_LOOKALIKES
        out = {}
        for text, a in zip(texts, await engine.assess(texts, escalate_all=True), strict=True):
            assert not a.failed
            out[text] = policy.judge(text, a.normalized, a.scores).action
        return out
    finally:
        await engine.close()


def test_table_is_big_enough() -> None:
    assert len(OBFUSCATED_ABUSE) + len(INNOCENT_LOOKALIKES) >= 50 and len(INNOCENT_LOOKALIKES) >= 20


def test_obfuscated_abuse_recall_is_at_least_95_percent(judged: dict[str, str]) -> None:
    missed = [t for t in OBFUSCATED_ABUSE if judged[t] == "allow"]
    assert len(missed) <= 0.05 * len(OBFUSCATED_ABUSE), missed


def test_innocent_lookalikes_are_never_flagged(judged: dict[str, str]) -> None:
    flagged = {t: judged[t] for t in INNOCENT_LOOKALIKES if judged[t] != "allow"}
    assert flagged == {}
