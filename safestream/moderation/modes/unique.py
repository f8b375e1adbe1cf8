"""Unique chat: refuse a user's repeated message and copy-paste floods.

Texts are compared by their letters only, casefolded ("FOLLOW me!!! 123" and
"follow me" are the same text), computed with C-level string and bytes methods.
State is per process and bounded: each stream remembers at most
``MAX_TEXTS`` recent texts and each user their last ``PER_USER`` texts; the
app's sweeper drops what has aged out. (In a cluster each process counts its
own senders, so a flood spread over N processes needs N times the crowd.)
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.rule_io import Hit, Sender

MAX_TEXTS = 5000
PER_USER = 5
#: ASCII bytes that are not letters: dropped from the comparison key.
_NOT_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())
#: Only the start of a text is compared: pasta with a varied tail is still the same pasta.
KEY_CHARS = 200


#: Copy-pasta is recognised by its first letters: a varied tail does not make it new.
CROWD_PREFIX = 48


def letters_key(text: str) -> bytes:
    """The text's letters, casefolded, as bytes (C-speed ``casefold``/``encode``/``translate``).

    Text with Latin letters is compared on those alone, so emoji, digits and
    punctuation sprinkled in do not make a copy different; other scripts keep
    their letters (UTF-8 bytes >= 0x80 are never deleted, so no character is split).
    """
    folded = text[:KEY_CHARS].casefold()
    latin = folded.encode("ascii", "ignore").translate(None, _NOT_LETTERS)
    if len(latin) >= 8:
        return latin
    return folded.encode("utf-8", "surrogatepass").translate(None, _NOT_LETTERS)


@dataclass(slots=True)
class _Crowd:
    first: float
    users: set[str] = field(default_factory=set)


class UniqueChat:
    def __init__(self) -> None:
        self._texts: dict[str, OrderedDict[bytes, _Crowd]] = {}
        self._users: dict[tuple[str, str], deque[tuple[float, bytes]]] = {}

    def check(self, stream: str, text: str, modes: ChatModes, sender: Sender, *, commit: bool = True,
              now: float | None = None) -> Hit | None:
        rule = modes.unique
        if not rule.on or sender.privileged:
            return None
        now = time.monotonic() if now is None else now
        key = letters_key(text) or text.encode("utf-8", "surrogatepass")  # "123": compared as typed
        cutoff = now - rule.window_secs
        mine = self._users.get((stream, sender.username))
        if mine is not None:
            while mine and mine[0][0] <= cutoff:
                mine.popleft()
            if any(k == key for _, k in mine):
                return _duplicate("you just sent that")
        crowd_hit = self._crowd(stream, key[:CROWD_PREFIX], sender.username, rule.crowd_users, rule.crowd_min_letters,
                                cutoff, now, commit)
        if commit:
            if mine is None:
                mine = self._users[(stream, sender.username)] = deque(maxlen=PER_USER)
            mine.append((now, key))
        return crowd_hit

    def _crowd(self, stream: str, key: bytes, user: str, limit: int, min_letters: int, cutoff: float,
               now: float, commit: bool) -> Hit | None:
        if len(key) < min_letters:
            return None
        texts = self._texts.get(stream)
        if texts is None:
            if not commit:
                return None
            texts = self._texts[stream] = OrderedDict()
        while texts:  # oldest first: drop what left the window
            oldest = next(iter(texts.values()))
            if oldest.first > cutoff:
                break
            texts.popitem(last=False)
        crowd = texts.get(key)
        if crowd is None:
            if commit:
                if len(texts) >= MAX_TEXTS:
                    texts.popitem(last=False)
                texts[key] = _Crowd(now, {user})
            return None
        if user in crowd.users:
            return None
        if len(crowd.users) >= limit:
            return _duplicate("many people are posting this same message right now")
        if commit:
            crowd.users.add(user)
        return None

    def sweep(self, max_window: float = 3600.0, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        cutoff = now - max_window
        for key in [k for k, d in self._users.items() if not d or d[-1][0] <= cutoff]:
            del self._users[key]
        for stream in [s for s, t in self._texts.items() if not t]:
            del self._texts[stream]

    def forget_stream(self, stream: str) -> None:
        self._texts.pop(stream, None)


def _duplicate(message: str) -> Hit:
    return Hit("unique", "refuse", "duplicate", f"unique chat: {message}")
