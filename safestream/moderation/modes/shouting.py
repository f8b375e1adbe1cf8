"""Caps and repeat spam in long messages: capitals share, character runs, one word over and over.

Counting is done by C-level string methods: ASCII capitals with
``bytes.translate``, other scripts by comparing with ``lower()`` (on the
first ``CAPS_SAMPLE`` characters), runs by comparing the text with itself
shifted by one (big-integer XOR, then ``bytes.find``), words with ``split``,
``set`` and ``Counter``. No step depends on what the text contains, so hostile
input costs what ordinary input of its length does.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache
from operator import ne

from safestream.moderation.modes.config import ChatModes, Repeats
from safestream.moderation.modes.rule_io import Hit, Sender, objection

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
        if len(lower) == len(text) == len(upper_text):  # one code point each way: compared in C
            n = len(text)
            same = _same_chars(lower + text, upper_text + lower)  # both comparisons in one pass
            letters = n - same[: 4 * n].count(_SAME)
            upper = n - same[4 * n :].count(_SAME)
        else:  # a letter whose case mapping changes the length (ß, İ): rare, and at most CAPS_SAMPLE long
            letters = sum(map(ne, lower, upper_text))
            upper = sum(map(ne, text, lower))
    return upper / letters if letters else 0.0


def _same_chars(a: str, b: str) -> bytes:
    """Four bytes per position of two equally long (short) strings: ``_SAME`` where they are equal.

    As UTF-32 the two are XORed as big integers (in C) with a marker in every
    code point's top byte, which is always 0 otherwise: an equal position is
    exactly ``_SAME`` (the marker cannot match off a code point's boundary).
    """
    x, y = a.encode("utf-32-be", "surrogatepass"), b.encode("utf-32-be", "surrogatepass")
    return (int.from_bytes(x) ^ int.from_bytes(y) ^ _markers(len(a))).to_bytes(len(x))


_SAME = b"\x01\x00\x00\x00"


@lru_cache(maxsize=128)  # lengths up to 2 * CAPS_SAMPLE (more only when NFKC expands a character)
def _markers(n: int) -> int:
    return int.from_bytes(_SAME * n)


def _planes(text: str) -> tuple[bytes, ...]:
    """The code points as byte planes: one byte each (ASCII), or their low, middle and high bytes.

    Two characters are equal exactly when they are equal in every plane, and a
    plane is compared as one big integer (XOR in C): each step costs a few C
    passes over ``len(text)`` bytes whatever the text says.
    """
    if text.isascii():
        return (text.encode(),)
    raw = text.encode("utf-32-le", "surrogatepass")  # the top byte of a code point is always 0
    return raw[0::4], raw[1::4], raw[2::4]


def longest_run_at_least(text: str, run: int) -> bool:
    """Whether some non-space character repeats ``run`` times in a row.

    The text is compared with itself shifted by one, in C: as bytes XORed as
    big integers (ASCII), or code point by code point through ``_diff32``; a
    run is ``run - 1`` equal neighbours in a row, found by one ``bytes.find``.
    The cost is linear in the length and the same for any content (a near-miss
    "aaaaaaaaab" repeated costs what random text does). Runs of spaces do not
    count: when the first run found is whitespace, the whitespace is collapsed
    and the search runs once more.
    """
    n = len(text)
    if n < run or run < 2:
        return n >= run
    # A run covers a multiple of ``run``: its character is among these. When they are few (short
    # lines, or "aaaaaaaaab" over and over) one C-level search each answers sooner than the XOR.
    # (Not for long text outside ASCII: building a set of its characters costs more than the XOR.)
    if n <= 8 * run or text.isascii():
        candidates = set(text[::run])
        if len(candidates) <= 4:
            return any(c * run in text for c in candidates if not c.isspace())
    at = _first_run(text, run)
    if at < 0:
        return False
    if not text[at].isspace():
        return True
    return _first_run(" ".join(text.split()), run) >= 0  # no whitespace runs left: any run is one of letters


def _first_run(text: str, run: int) -> int:
    """Where a run of ``run`` identical characters starts, or -1: every plane is XORed with itself
    shifted by one character, and a zero byte of the OR of those is a pair of equal neighbours."""
    n = len(text)
    if n < run:
        return -1
    rest = (1 << 8 * (n - 1)) - 1  # as an integer, a plane without its first byte
    zeros = bytes(run - 1)
    differs = 0
    for i, plane in enumerate(_planes(text)):
        if plane.count(plane[:1]) == n:  # one byte throughout (Cyrillic's middle byte, BMP's high one)
            continue
        value = int.from_bytes(plane)
        differs |= (value >> 8) ^ (value & rest)
        # Equal characters have equal low bytes: no run there, no run at all (distinct text stops here).
        if i == 0 and zeros not in differs.to_bytes(n - 1):
            return -1
    return differs.to_bytes(n - 1).find(zeros)


def top_word_share(text: str, min_words: int) -> float:
    """The most frequent word's share of the first ``WORD_SAMPLE`` words, ignoring case (0: too few words)."""
    return _top_share(text[: WORD_SAMPLE * 8].lower().split(None, WORD_SAMPLE)[:WORD_SAMPLE], min_words)


def _one_word_over_and_over(text: str, rule: Repeats) -> bool:
    """``top_word_share(...) > max_word_share``, lowercasing only when the words as typed are not over
    already (lowercasing can only merge words, and it costs per character outside ASCII)."""
    sample = text[: WORD_SAMPLE * 8]
    if sample.isascii():  # lowercasing ASCII is cheap: one pass
        return top_word_share(sample, rule.min_words) > rule.max_word_share
    words = sample.split(None, WORD_SAMPLE)[:WORD_SAMPLE]
    if len(words) < rule.min_words:  # lowercasing keeps the words where they are
        return False
    if _top_share(words, rule.min_words) > rule.max_word_share:
        return True
    return top_word_share(sample, rule.min_words) > rule.max_word_share


def _top_share(words: list[str], min_words: int) -> float:
    if len(words) < min_words:
        return 0.0
    distinct = set(words)
    if len(distinct) == len(words):  # the usual case: all different, no Counter needed
        return 1 / len(words)
    if len(distinct) == 1:  # one word over and over (the spam this looks for)
        return 1.0
    if len(distinct) <= 4:  # a few words over and over: a C-level count each, cheaper than a Counter
        return max(map(words.count, distinct)) / len(words)
    return max(Counter(words).values()) / len(words)  # Counter counts in C (_count_elements)


def check_caps(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.caps
    if rule.action == "off" or sender.privileged or len(text) < rule.min_length:
        return None
    if caps_ratio(text) <= rule.max_ratio:
        return None
    return objection("caps", rule.action, "too_many_caps", "too many capital letters", text, str.lower)


def check_repeats(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.repeats
    if rule.action == "off" or sender.privileged:
        return None
    if not longest_run_at_least(text, rule.max_run) and not _one_word_over_and_over(text, rule):
        return None
    return objection(
        "repeats", rule.action, "repeated_characters", "too many repeated characters or words", text, _squash
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
