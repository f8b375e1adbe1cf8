"""Emote-only mode: a message must be made only of the stream's emotes (and spaces).

The emotes are deleted from the message with C-level ``str.replace`` (one
call per distinct emote present) and the message passes if nothing is left:
linear in the message length, no regex.
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
    return _Index(singles, alphabet, {k: tuple(v) for k, v in multi.items()})


def only_emotes(text: str, emotes: tuple[str, ...]) -> bool:
    """A sample test, then C-level ``replace`` calls: one per distinct emote present.

    A message using a character outside the emotes usually fails on a sample of
    its characters. Otherwise the character at the front is looked at: a
    single-character emote (or a space) is deleted everywhere at once, a longer
    emote starting with it likewise (longest first, replaced by a space so the
    pieces around it cannot join into another emote), and anything else fails.
    Each pass removes a distinct emote, so there are at most as many passes as
    the stream has emotes, whatever the length.
    """
    index = _index(emotes)
    alphabet = index.alphabet
    if not alphabet.issuperset(text[::16]):  # most non-emote messages fail on a sample (a C-level set test)
        return False
    singles, multi = index.singles, index.multi
    for _ in range(2 * (len(emotes) + len(singles)) + 1):  # spaces may come back after a long emote
        if not text:
            return True
        head = text[0]
        if head in singles:
            text = text.replace(head, "")
            continue
        for emote in multi.get(head, ()):
            if text.startswith(emote):
                text = text.replace(emote, " ")
                break
        else:
            return False
    return False


def check_emote_only(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    if not modes.emote_only or sender.privileged or only_emotes(text, modes.emote_set):
        return None
    return Hit("emote_only", "refuse", "emote_only", "emote-only mode: send emotes only")
