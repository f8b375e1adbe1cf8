"""Caps and repeat spam in long messages: capitals share, character runs, one word over and over.

Counting is done by C-level string methods: capitals are the characters that
``lower()`` changes (compared with ``map``), runs are found by looking for
``ch * max_run`` for each distinct character, words by ``split`` and a dict.
"""

from __future__ import annotations

from operator import ne

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.contract import Hit, Sender


def caps_ratio(text: str) -> float:
    lower = text.lower()
    upper = text.upper()
    letters = sum(map(ne, lower, upper))  # characters that have case at all
    if not letters:
        return 0.0
    return sum(map(ne, text, lower)) / letters


def longest_run_at_least(text: str, run: int) -> bool:
    if len(text) < run:
        return False
    return any(ch * run in text for ch in set(text) if not ch.isspace())


def top_word_share(text: str, min_words: int) -> float:
    words = text.lower().split()
    if len(words) < min_words:
        return 0.0
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return max(counts.values()) / len(words)


def check_caps(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.caps
    if rule.action == "off" or sender.privileged or len(text) < rule.min_length:
        return None
    if caps_ratio(text) <= rule.max_ratio:
        return None
    return Hit("caps", rule.action, "too_many_caps", "too many capital letters",
               shown=text.lower() if rule.action == "mask" else "")


def check_repeats(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.repeats
    if rule.action == "off" or sender.privileged:
        return None
    if not longest_run_at_least(text, rule.max_run) and top_word_share(text, rule.min_words) <= rule.max_word_share:
        return None
    return Hit("repeats", rule.action, "repeated_characters", "too many repeated characters or words",
               shown=_squash(text, rule.max_run) if rule.action == "mask" else "")


def _squash(text: str, run: int) -> str:
    """Runs of ``run`` or more identical characters shortened to three."""
    out: list[str] = []
    last, count = "", 0
    for ch in text:
        count = count + 1 if ch == last else 1
        last = ch
        if count <= 3:
            out.append(ch)
    return "".join(out)
