"""The chat-mode rules as functions: what they catch and, as much, what they leave alone."""

from __future__ import annotations

import pytest

from safestream.moderation.modes.config import ChatModes, Links, UniqueChat
from safestream.moderation.modes.emotes import only_emotes
from safestream.moderation.modes.links import check_links, find_hosts
from safestream.moderation.modes.mentions import count_mentions
from safestream.moderation.modes.rule_io import Sender
from safestream.moderation.modes.shield import shield_off, shield_on
from safestream.moderation.modes.shouting import (
    caps_ratio,
    longest_run_at_least,
    top_word_share,
)
from safestream.moderation.modes.unique import UniqueChat as UniqueState
from safestream.moderation.policy import Level, Policy

VIEWER = Sender("v", account_age_secs=1e6)


@pytest.mark.parametrize(
    "text",
    [
        "visit example.com",
        "EXAMPLE.COM",
        "example dot com",
        "example (dot) com",
        "example[.]net",
        "example . io",
        "example .gg",
        "exаmple.соm",
        "example。com",
        "example．com",
        "exa\u200bmple.com",
        "hxxp://x",
        "www.site.tv",
        "http://10.0.0.1/x",
        "1.2.3.4",
        "go to bit.ly/abc",
    ],
)
def test_links_and_their_disguises_are_found(text: str) -> None:
    assert find_hosts(text), text


@pytest.mark.parametrize(
    "text",
    [
        "ok. me too",
        "3.5 stars",
        "e.g. this one",
        "lol...",
        "Mr. Smith is here",
        "what a play!",
        "dot the i's",
        "version 1.2 is out",
        "wait.what",
        "gg wp",
        "polka dot dress",
    ],
)
def test_ordinary_chat_is_not_a_link(text: str) -> None:
    assert not find_hosts(text), text


def test_permitted_domains_only_as_typed() -> None:
    modes = ChatModes(links=Links(action="hold", permitted_domains=("youtube.com",)))
    assert check_links("https://www.youtube.com/watch?v=1", modes, VIEWER) is None
    assert check_links("music.youtube.com", modes, VIEWER) is None
    for text in ("yоutube.com", "youtube dot com", "evilyoutube.com", "youtube.com.evil.io", "hxxp://youtube.com"):
        assert check_links(text, modes, VIEWER) is not None, text


def test_emotes_mentions_caps_and_repeats() -> None:
    emotes = ("🔥", ":hype:", "❤️")
    assert only_emotes("🔥 :hype: ❤️🔥", emotes) and only_emotes("❤", emotes)
    assert not only_emotes("🔥 hi", emotes) and not only_emotes(":hy:pe:", emotes) and not only_emotes(":hype", emotes)
    assert count_mentions("@a @b\t@c @ @@d mail@x.y") == 3
    assert caps_ratio("WHAT A PLAY") == 1.0 and caps_ratio("What a play") < 0.2 and caps_ratio("ＷＨＡＴ") == 1.0
    assert caps_ratio("Привет") < 0.2 and caps_ratio("ПРИВЕТ") == 1.0 and caps_ratio("你好") == 0.0
    for n in range(10, 30):
        assert longest_run_at_least("x" + "!" * n + "y", 10)
    assert not longest_run_at_least("!" * 9 + " " + "!" * 9, 10)
    assert top_word_share("buy " * 10, 8) == 1.0 and top_word_share("one two three four five six seven eight", 8) < 0.2


def test_unique_chat_windows_and_drafts() -> None:
    state = UniqueState()
    modes = ChatModes(unique=UniqueChat(on=True, window_secs=30, crowd_users=2))
    a, b, c = Sender("a"), Sender("b"), Sender("c")
    assert state.check("s", "hello there", modes, a, now=0) is None
    assert state.check("s", "HELLO there!!", modes, a, now=10) is not None
    assert state.check("s", "hello there", modes, a, now=31) is None  # the window passed
    pasta = "this is the same long copy pasta text that everyone in the raid posts"  # > 48 letters
    assert state.check("s", pasta, modes, a, now=40, commit=False) is None  # a nudge records nothing
    assert state.check("s", pasta + " 😂", modes, a, now=40) is None
    assert state.check("s", pasta + " lol 12", modes, b, now=41) is None
    assert state.check("s", "!!" + pasta, modes, c, now=42) is not None
    assert state.check("s", pasta, modes, c, now=42, commit=False) is not None
    assert state.check("other", pasta, modes, c, now=42) is None  # per stream


def test_shield_round_trip_keeps_everything() -> None:
    policy = Policy(
        levels=(Level("*", 0.9, "flag"), Level("threat", 0.4, "block")),
        slow_mode_secs=10,
        blocked_terms=("spoiler",),
        modes=ChatModes(min_account_age_mins=120),
    )
    on = Policy.from_dict(shield_on(policy))
    assert on.shield_previous is not None and on.slow_mode_secs == 10 and on.modes.min_account_age_mins == 120
    assert Level("*", 0.9, "hold") in on.levels and Level("threat", 0.4, "block") in on.levels
    assert Level("*", 0.9, "flag") in on.levels  # kept: what scores below the hold line is still shown
    default = Policy.from_dict(shield_on(Policy(levels=(Level("toxicity", 0.7, "flag"),))))
    assert default.levels == (Level("toxicity", 0.7, "flag"), Level("toxicity", 0.9, "hold"))
    assert default.judge("x", "x", {"toxicity": 0.83}).action == "flag"  # a false positive stays visible
    assert default.judge("x", "x", {"toxicity": 0.95}).action == "hold"
    assert on.modes.unique.on and on.modes.links.action == "hold"
    assert shield_on(on) == on.to_dict()  # on again: the way back is kept
    assert Policy.from_dict(shield_off(on)).to_dict() == policy.to_dict()


def _repeats(tree: object, inside: bool = False) -> list[tuple[int, bool]]:
    """(max, nested) for every repeat in a parsed pattern."""
    from re import _constants as c  # type: ignore[attr-defined]

    found: list[tuple[int, bool]] = []
    for op, arg in tree:  # type: ignore[attr-defined]
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):
            _low, high, sub = arg
            found.append((high, inside))
            found += _repeats(sub, True)
        elif op is c.SUBPATTERN:
            found += _repeats(arg[-1], inside)
        elif op is c.BRANCH:
            for alt in arg[1]:
                found += _repeats(alt, inside)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            found += _repeats(arg[1], inside)
    return found


def test_the_link_patterns_cannot_backtrack() -> None:
    """Structure, not timing: every quantifier is bounded and none sits inside another
    (test_modes.py checks that no other rule module uses a regular expression)."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    from safestream.moderation.modes import links

    for pattern in links.PATTERNS:
        repeats = _repeats(_parser.parse(pattern.pattern, pattern.flags))
        assert all(high != c.MAXREPEAT and high <= 3 for high, _ in repeats), pattern.pattern
        assert not any(nested for _, nested in repeats), pattern.pattern


def test_hostile_input_is_answered_within_the_work_bounds() -> None:
    """What keeps each rule's work bounded on 500 hostile characters (timings: load/bench_rules.py)."""
    from safestream.moderation.modes import links

    assert links.fold("." * 500) == b"." and not find_hosts("." * 500)  # a run of dots is one dot
    assert find_hosts("a." * 250) == ["(many dots)"]  # past MAX_DOTS: a link, without 250 look-ups
    assert not find_hosts("@a " * 166) and not find_hosts("😂" * 500) and not find_hosts("dot dot dot")
    assert find_hosts("exаmple.соm " * 38, first=True) and find_hosts(" ".join(["x.io"] * 40), ("x.io",))
    assert only_emotes("😂" * 500, ("😂",)) and not only_emotes("😂" * 499 + "a", ("😂",))
    assert not only_emotes(":h:hype:ype:" * 40, (":hype:",))  # pieces joining into an emote: bounded passes
    assert longest_run_at_least("ab" * 240 + "c" * 10, 10) and not longest_run_at_least("ab" * 250, 10)
    assert top_word_share("word " * 100, 8) == 1.0
