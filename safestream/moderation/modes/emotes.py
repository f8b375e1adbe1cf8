"""Emote-only mode: a message must be made only of the stream's emotes (and spaces).

The emotes are deleted from the message with C-level string methods (longer
emotes first) and the message passes if nothing but spaces is left: linear
in the message length, no regex.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.rule_io import Hit, Sender

#: Variation selectors and the zero-width joiner decorate emoji; they never make a message "not emotes".
_DECORATION = {0xFE0E: None, 0xFE0F: None, 0x200D: None}


_SPACES = frozenset(" \t\n\r\u3000\u00a0") | {chr(cp) for cp in _DECORATION}


@dataclass(frozen=True, slots=True)
class _Index:
    #: Single-character emotes, whitespace and decoration: what may be left at the end.
    singles: frozenset[str]
    #: The same as one string, for ``str.strip`` (a C-level scan).
    singles_str: str
    #: Every character of every emote: a message with any other character fails at once.
    alphabet: frozenset[str]
    #: Longer emotes by first character, longest first.
    multi: dict[str, tuple[str, ...]]


@lru_cache(maxsize=64)
def _index(emotes: tuple[str, ...]) -> _Index:
    cleaned = {e.translate(_DECORATION) for e in emotes} - {""}
    singles = frozenset(e for e in cleaned if len(e) == 1) | _SPACES
    multi: dict[str, list[str]] = {}
    for e in sorted((e for e in cleaned if len(e) > 1), key=len, reverse=True):
        multi.setdefault(e[0], []).append(e)
    alphabet = singles | {c for e in cleaned for c in e}
    return _Index(singles, "".join(sorted(singles)), alphabet, {k: tuple(v) for k, v in multi.items()})


def only_emotes(text: str, emotes: tuple[str, ...]) -> bool:
    """Set operations on the message's characters, then C-level ``replace`` of longer emotes.

    A message using any character outside the emotes fails at once; one made of
    single-character emotes passes at once; otherwise longer emotes (only those
    whose first character occurs) are deleted and what is left must be
    single-character emotes or spaces.
    """
    index = _index(emotes)
    alphabet = index.alphabet
    if any(c not in alphabet for c in text[::16]):  # most non-emote messages fail on a sample
        return False
    if not text.strip(index.singles_str):  # made of single-character emotes and spaces only
        return True
    chars = set(text)
    if not chars <= index.alphabet:
        return False
    for first in chars & index.multi.keys():
        for emote in index.multi[first]:
            if emote in text:
                text = text.replace(emote, " ")
    return set(text) <= index.singles


def check_emote_only(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    if not modes.emote_only or sender.privileged or only_emotes(text, modes.emote_set):
        return None
    return Hit("emote_only", "refuse", "emote_only", "emote-only mode: send emotes only")
