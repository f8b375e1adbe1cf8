"""Term lists: match modes, permitted terms, the Scunthorpe problem, masking."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import safestream.moderation.terms as terms_module
from safestream.moderation.backends.keywords import KeywordScorer
from safestream.moderation.normalize import normalize
from safestream.moderation.terms import DEFAULT_BLOCKED, TermList, TermRule


@pytest.fixture(scope="module")
def default() -> TermList:
    return TermList.default()


def found(terms: TermList, text: str) -> list[str]:
    return [m.term for m in terms.find_raw(text)]


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ("darn", TermRule("darn", "word")),
        ("darn*", TermRule("darn", "prefix")),
        ("*darn", TermRule("darn", "suffix")),
        ("*darn*", TermRule("darn", "anywhere")),
        ("  heck  ", TermRule("heck", "word")),
    ],
)
def test_parse(entry: str, rule: TermRule) -> None:
    assert TermRule.parse(entry) == rule


@pytest.mark.parametrize("entry", ["", "*", "**", "da*rn"])
def test_parse_rejects_bad_entries(entry: str) -> None:
    with pytest.raises(ValueError):
        TermRule.parse(entry)


def test_rule_rejects_unknown_mode_and_label() -> None:
    with pytest.raises(ValueError):
        TermRule("darn", "fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TermRule("darn", "word", "rudeness")


def test_conflicting_modes_for_one_term_are_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        TermList(["darn", "d4rn*"])  # "d4rn" normalizes to "darn"


@pytest.mark.parametrize(
    ("entry", "hits", "misses"),
    [
        ("darn", ["darn", "oh darn!", "darn_it", "DARN"], ["darned", "undarn", "darnit"]),
        ("darn*", ["darn", "darned", "darnit"], ["undarn", "undarned"]),
        ("*darn", ["darn", "undarn"], ["darned", "undarned"]),
        ("*darn*", ["darn", "darned", "undarn", "undarned"], ["dam", "d arn"]),
    ],
)
def test_modes(entry: str, hits: list[str], misses: list[str]) -> None:
    terms = TermList([entry])
    for text in hits:
        assert found(terms, text) == ["darn"], text
    for text in misses:
        assert found(terms, text) == [], text


def test_span_covers_the_whole_word_in_normalized_text() -> None:
    terms = TermList(["*darn*", "heck*", "gosh"])
    text = normalize("well darnitall and HECKING gosh")
    spans = [text[m.start : m.end] for m in terms.find(text)]
    assert spans == ["darnitall", "hecking", "gosh"]


def test_multi_word_terms() -> None:
    terms = TermList(["go away"])
    assert found(terms, "please go   away now") == ["go away"]
    assert found(terms, "go awayyy") == ["go away"]  # repeats collapse
    assert found(terms, "ago away") == []


def test_permitted_terms_suppress_blocked_inside_them() -> None:
    terms = TermList(["*cunt*", "cum"], ["scunthorpe", "cum laude"])
    assert found(terms, "Scunthorpe United") == []
    assert found(terms, "graduated summa cum laude") == []
    assert found(terms, "cunt") == ["cunt"]
    assert found(terms, "cum on") == ["cum"]
    # A permitted term only covers what lies inside it.
    assert found(terms, "cum laude, cum") == ["cum"]


class _CountingScan:
    """Stands in for the word-run pattern and counts the characters it is asked to scan."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern, self.scanned = pattern, 0

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        self.scanned += len(text)
        return self.pattern.finditer(text)


@pytest.mark.parametrize("repeats", [50, 5000])
def test_one_huge_word_full_of_hits_is_scanned_once(
    default: TermList, repeats: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: widening each hit by rescanning its word was quadratic, so one
    # 20 KB word of 5000 hits stalled the send path. Count the work, not the clock.
    scan = _CountingScan(terms_module._WORD_RUN)
    monkeypatch.setattr(terms_module, "_WORD_RUN", scan)
    text = "fuck" * repeats
    matches = default.find_raw(text)
    masked = default.mask(text)
    assert [m.span for m in matches] == [(0, len(text))]  # one match per rule and word
    assert masked == "f" + "*" * (len(text) - 1)
    # A few passes over the text however many hits it holds; a rescan per hit is 5000 passes.
    assert scan.scanned <= 4 * len(text)


def test_empty_list_matches_nothing() -> None:
    assert TermList([]).find("anything at all") == []
    assert TermList([]).mask("anything") == "anything"


# Innocent words, names and phrases the default list must not flag.
SCUNTHORPE: list[str] = [
    "Scunthorpe",
    "Penistone",
    "class",
    "classic",
    "assassin",
    "bass",
    "passage",
    "cocktail",
    "cockpit",
    "peacock",
    "Hancock",
    "cum laude",
    "magna cum laude",
    "summa cum laude",
    "cumulative",
    "document",
    "Dick Van Dyke",
    "dickens",
    "Moby Dick",
    "Dick Smith",
    "shitake",
    "shiitake",
    "hello",
    "therapist",
    "analysis",
    "button",
    "grape",
    "Sussex",
    "title",
    "swank",
    "Wankel engine",
    "Pissarro",
    "a kitchen-cum-dining room",
    "mishit",
    "Cushitic languages",
    "pussy willow",
    "Spic and Span",
    "blue tits",
    "oilseed rape",
    "assess",
    "harass",
    "embarrass",
    "bitcoin",
    "scrap",
    "craps table",
    "fagin",
    "niggardly",
    "spice",
    "skyscraper",
    "Matsushita",
    "Yamashita",
    "Kinoshita",
    "Slutsk",
    "arsenal",
    "hypotenuse",
    "retardant",
    "I have 100 apples at 4:30 in 2024",
]


@pytest.mark.parametrize("text", SCUNTHORPE)
def test_default_list_leaves_innocent_text_alone(default: TermList, text: str) -> None:
    assert found(default, text) == []


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("fuck off", "fuck"),
        ("f.u.c.k off", "fuck"),
        ("motherfucker", "fuck"),
        ("fuuuuck", "fuck"),
        ("ｆｕｃｋ", "fuck"),
        ("fuсk", "fuck"),
        ("f\u200bu\u200bck", "fuck"),
        ("sh1t", "shit"),
        ("bullshit", "bullshit"),
        ("$h!tty", "shit"),
        ("s.h.i.t.t.y", "shit"),
        ("you b!tch", "bitch"),
        ("sonofabitch", "bitch"),
        ("@ss", "ass"),
        ("a$$hole", "asshole"),
        ("cunts", "cunt"),
        ("wanker", "wank"),
        ("what a twat", "twat"),
        ("kys", "kys"),
        ("k i l l yourself", "kill yourself"),
        ("dickhead", "dickhead"),
    ],
)
def test_default_list_catches_obfuscated_profanity(default: TermList, text: str, term: str) -> None:
    assert term in found(default, text)


def test_default_rules_are_labelled() -> None:
    labels = {rule.label for rule in DEFAULT_BLOCKED}
    assert labels == {"obscene", "insult", "identity_attack", "threat"}


@pytest.mark.parametrize(
    ("original", "masked"),
    [
        ("fuck off", "f*** off"),
        ("oh f.u.c.k that", "oh f****** that"),
        ("f u c k you", "f * * * you"),
        ("fuuuuck", "f******"),
        ("f\u200bu\u200bck", "f*****"),
        ("what sh1t", "what s***"),
        ("ｆｕｃｋ", "ｆ***"),
        ("what the fuсk is this", "what the f*** is this"),
        ("motherfucker!", "m***********!"),
        ("Scunthorpe is nice", "Scunthorpe is nice"),
        ("hello there", "hello there"),
        ("magna cum laude, cum", "magna cum laude, c**"),
    ],
)
def test_mask_hides_matches_in_the_original(default: TermList, original: str, masked: str) -> None:
    result = default.mask(original)
    assert result == masked
    assert len(result) == len(original)


def test_mask_options(default: TermList) -> None:
    assert default.mask("oh fuck", keep_first=False) == "oh ****"
    assert default.mask("oh fuck", fill="#") == "oh f###"
    with pytest.raises(ValueError):
        default.mask("oh fuck", fill="**")


async def test_keyword_scorer() -> None:
    scorer = KeywordScorer()
    await scorer.load()
    try:
        texts = [normalize(t) for t in ("hello there", "f u c k you", "you b!tch", "kys", "Scunthorpe")]
        scores = await scorer.score(texts)
    finally:
        await scorer.close()
    assert len(scores) == 5
    assert all(set(s) == set(KeywordScorer.labels) for s in scores)
    assert max(scores[0].values()) == 0.0
    assert scores[1]["toxicity"] == scores[1]["obscene"] == 0.95
    assert scores[1]["insult"] == 0.0
    assert scores[2]["insult"] == 0.95
    assert scores[3]["threat"] == 0.95
    assert max(scores[4].values()) == 0.0


async def test_keyword_scorer_custom_list_and_score() -> None:
    scorer = KeywordScorer(TermList([TermRule("darn", "prefix", "insult")]), hit_score=0.7)
    await scorer.load()
    try:
        assert await scorer.score([]) == []
        [scores] = await scorer.score(["darned thing"])
    finally:
        await scorer.close()
    assert scores["toxicity"] == scores["insult"] == 0.7
    assert scores["obscene"] == 0.0


def test_keyword_scorer_validates_and_needs_load() -> None:
    with pytest.raises(ValueError):
        KeywordScorer(hit_score=0.0)
    scorer = KeywordScorer()
    try:
        with pytest.raises(RuntimeError):
            scorer.predict(["fuck"])
    finally:
        scorer._executor.shutdown(wait=False)
