"""Caps and repeat spam in long messages: capitals share, character runs, one word over and over.

Counting is done by C-level string methods: ASCII capitals with
``bytes.translate``, other scripts by comparing with ``lower()`` (on the
first ``CAPS_SAMPLE`` characters), runs by comparing every ``max_run``-th
character with its neighbours (``map`` over strided slices), words with ``split``, ``set`` and ``Counter``.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from itertools import compress
from operator import eq, ne, or_

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.rule_io import Hit, Sender

_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_LOWER = bytes(range(ord("a"), ord("z") + 1))
#: Non-ASCII text is judged on its first characters (case mapping it costs per character).
CAPS_SAMPLE = 80
#: Word repetition is judged on the first words of a message.
WORD_SAMPLE = 32


def caps_ratio(text: str) -> float:
    """Capitals among the letters that have case (``bytes.translate`` counts ASCII at C speed)."""
    if not text.isascii():  # fullwidth letters become ASCII; other scripts are sampled
        text = unicodedata.normalize("NFKC", text[:CAPS_SAMPLE])
    if text.isascii():
        raw = text.encode()
        upper = len(raw) - len(raw.translate(None, _UPPER))
        letters = upper + len(raw) - len(raw.translate(None, _LOWER))
    else:
        lower, upper_text = text.lower(), text.upper()
        if lower == upper_text:  # no letter with case (CJK, emoji, digits)
            return 0.0
        letters = sum(map(ne, lower, upper_text))
        upper = sum(map(ne, text, lower))
    return upper / letters if letters else 0.0


def longest_run_at_least(text: str, run: int) -> bool:
    """A run of ``run`` identical characters covers exactly one index that is a multiple of ``run``,
    and there it equals a neighbour: the characters at those indices are compared with their
    neighbours by C-level ``map(eq, ...)`` over strided slices, and only the few that match get a look."""
    n = len(text)
    if n < run or run < 2:
        return n >= run
    at = text[::run]
    after = text[1::run] + "\0"  # at[j]'s right neighbour ("\0" never occurs: clean_message drops it)
    before = "\0" + text[run - 1 :: run]  # at[j]'s left neighbour
    for j in compress(range(len(at)), map(or_, map(eq, at, after), map(eq, at, before))):
        i = j * run
        if not text[i].isspace() and text[i] * run in text[max(0, i - run + 1) : i + run]:
            return True
    return False


def top_word_share(text: str, min_words: int) -> float:
    words = text[: WORD_SAMPLE * 8].lower().split(None, WORD_SAMPLE)[:WORD_SAMPLE]
    if len(words) < min_words:
        return 0.0
    if len(set(words)) == len(words):  # the usual case: all different, no Counter needed
        return 1 / len(words)
    return max(Counter(words).values()) / len(words)  # Counter counts in C (_count_elements)


def check_caps(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.caps
    if rule.action == "off" or sender.privileged or len(text) < rule.min_length:
        return None
    if caps_ratio(text) <= rule.max_ratio:
        return None
    return Hit(
        "caps",
        rule.action,
        "too_many_caps",
        "too many capital letters",
        shown=text.lower() if rule.action == "mask" else "",
    )


def check_repeats(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.repeats
    if rule.action == "off" or sender.privileged:
        return None
    if not longest_run_at_least(text, rule.max_run) and top_word_share(text, rule.min_words) <= rule.max_word_share:
        return None
    return Hit(
        "repeats",
        rule.action,
        "repeated_characters",
        "too many repeated characters or words",
        shown=_squash(text) if rule.action == "mask" else "",
    )


def _squash(text: str) -> str:
    """Runs of identical characters shortened to three (only for a message the rule caught)."""
    out: list[str] = []
    last, count = "", 0
    for ch in text:
        count = count + 1 if ch == last else 1
        last = ch
        if count <= 3:
            out.append(ch)
    return "".join(out)
