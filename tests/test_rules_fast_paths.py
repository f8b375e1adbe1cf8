"""The rules' fast paths answer exactly what the full work would (issue 12: <= 10 us per rule).

Each fast path is checked against the slow, obvious definition over a fixed
corpus of disguises, near-matches and scripts: the link prefilter (a text it
skips folds to no dot and no scheme), the look-alike-first host search (same
answer as the full list), the XOR run finder and the C-level caps count.
"""

from __future__ import annotations

import itertools
import random
import unicodedata

import pytest

from safestream.moderation.modes import links
from safestream.moderation.modes.links import find_hosts, fold, may_hold_link
from safestream.moderation.modes.shouting import caps_ratio, longest_run_at_least

ATOMS = [
    *("example", "com", "io", "dot", "DOT", "d0t", "(dot)", "[.]", " ", ".", "/", ":", "1", "2", "a", "x"),
    *("hxxp", "HXXP", "h**p", "http:", "https://", "www", "ＣＯＭ", "ｄｏｔ", "ｈｘｘｐ", "ⓒⓞⓜ", "⒈", "㏂"),
    *("。", "．", "․", "‥", "…", "·", "\u200b", "\u00ad", "\ufeff", "соm", "е", "Привет", "😂", "İ", "\u212a"),
]
DISGUISES = [
    "example dot com",
    "example d0t com",
    "example (dot) com",
    "example . com",
    "example[.]com",
    "hxxp://x",
    "HXXP://x",
    "h**p://x",
    "ｅｘａｍｐｌｅ．ｃｏｍ",  # fullwidth: NFKC makes it ASCII
    "ｈｘｘｐ://x",
    "example․com",  # one dot leader
    "example。com",
    "example·com",
    "exаmple.соm",  # Cyrillic a, c, o
    "ехаmрlе.со",
    "hx\u200bxp://x",  # an invisible character inside the scheme
    "example d\u200bot com",
    "exa\u00admple.com",
    "www.site.tv",
    "1.2.3.4",
]


def corpus(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 10))) for _ in range(n)]


@pytest.mark.parametrize("text", DISGUISES)
def test_every_disguise_gets_past_the_prefilter_and_is_found(text: str) -> None:
    assert may_hold_link(text) and find_hosts(text, first=True) and find_hosts(text), text


@pytest.mark.parametrize("text", ["what a play!", "Привет всем", "😂😂😂", "gg wp", "@streamer hi", "that was 10/10"])
def test_ordinary_chat_is_answered_by_the_prefilter(text: str) -> None:
    assert not may_hold_link(text) and not find_hosts(text)


def test_what_the_prefilter_skips_folds_to_no_dot_and_no_scheme() -> None:
    """The prefilter's whole claim, on the full fold (which it skips)."""
    skipped = [t for t in corpus(1, 6000) if not may_hold_link(t)]
    assert len(skipped) > 100  # the corpus does exercise it
    for text in skipped:
        folded = fold(text)
        assert b"." not in folded and not links._has_scheme(folded, plain=True), text


def test_the_first_host_answer_is_the_full_lists_answer() -> None:
    """``first=True`` searches look-alikes first; whether a host qualifies must not change."""
    spam = [" ".join(["x.io"] * k) + tail for k in range(12) for tail in ("", " привет", " exаmple.соm")]
    for text in corpus(2, 4000) + spam:
        for permitted in ((), ("example.com",), ("x.io", "example.com")):
            assert bool(find_hosts(text, permitted, first=True)) == bool(find_hosts(text, permitted)), text


def _longest_run(text: str) -> int:
    """The obvious definition: the longest run of one non-space character."""
    return max((len(list(g)) for c, g in itertools.groupby(text) if not c.isspace()), default=0)


def test_run_finder_matches_the_obvious_definition() -> None:
    rng = random.Random(3)
    alphabet = ["a", "b", " ", "\t", "\u3000", "😂", "😃", "Ａ", "Я", "\u4e00", "\u4f00", "\U00024e00", "\u0100", "!"]
    texts = ["a" * 9 + "b", ("a" * 9 + "b") * 50, ("\u4e00" * 9 + "\u4f00") * 20, " " * 30 + "x", "😂" * 10]
    for _ in range(3000):
        pool = rng.sample(alphabet, rng.randint(1, len(alphabet)))
        texts.append("".join(rng.choice(pool) * rng.choice((1, 2, 5, 9, 10, 11)) for _ in range(rng.randint(0, 12))))
    for text in texts:
        longest = _longest_run(text)
        for run in (2, 3, 5, 10):
            assert longest_run_at_least(text, run) == (longest >= run), (text, run)


def test_caps_count_matches_a_per_character_count() -> None:
    """The big-integer count of capitals and cased letters (text whose case mapping keeps its length)."""
    for text in ["ПРИВЕТ всем", "Привет", "WHAT a Play 😂", "ＷＨＡＴ ｉｓ", "ÀÉÎ õü", "ǅungla", "你好 HI", "ΑΒΓ δε"]:
        sample = unicodedata.normalize("NFKC", text)  # short: caps_ratio looks at all of it
        cased = [c for c in sample if c.lower() != c.upper()]
        expected = sum(c != c.lower() for c in cased) / len(cased) if cased else 0.0
        assert caps_ratio(text) == pytest.approx(expected), text
