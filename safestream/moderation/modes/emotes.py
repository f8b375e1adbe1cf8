"""Emote-only mode: a message must be made only of the stream's emotes (and spaces).

Matching is greedy longest-first over a set of at most a few hundred short
emotes, from each position: linear in the message length, no regex.
"""

from __future__ import annotations

from functools import lru_cache

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.contract import Hit, Sender

#: Variation selectors and the zero-width joiner decorate emoji; they never make a message "not emotes".
_DECORATION = {0xFE0E: None, 0xFE0F: None, 0x200D: None}


@lru_cache(maxsize=64)
def _index(emotes: tuple[str, ...]) -> tuple[frozenset[str], tuple[int, ...]]:
    cleaned = frozenset(e.translate(_DECORATION) for e in emotes if e.translate(_DECORATION))
    return cleaned, tuple(sorted({len(e) for e in cleaned}, reverse=True))


def only_emotes(text: str, emotes: tuple[str, ...]) -> bool:
    allowed, lengths = _index(emotes)
    for word in text.translate(_DECORATION).split():
        i, n = 0, len(word)
        while i < n:
            for length in lengths:
                if word[i:i + length] in allowed:
                    i += length
                    break
            else:
                return False
    return True


def check_emote_only(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    if not modes.emote_only or sender.privileged or only_emotes(text, modes.emote_set):
        return None
    return Hit("emote_only", "refuse", "emote_only", "emote-only mode: send emotes only")
