"""Unique chat: refuse a user's repeated message and copy-paste floods.

Texts are compared by their letters only, casefolded ("FOLLOW me!!! 123" and
"follow me" are the same text), computed with C-level string and bytes methods.
Both counts are kept here per process (a user's last ``PER_USER`` texts, and
``crowd``'s table of posters per text), answered before a message is queued;
with ``REDIS_URL`` the moderation batcher also asks the cluster's copies of
both (``post_for``, then ``crowd.RedisCrowds.confirm``), so a repeat or a
flood spread over processes is refused too. The app's sweeper drops what
has aged out.
"""

from __future__ import annotations

import time
from collections import deque
from functools import lru_cache

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.crowd import CROWD, PER_USER, REPEAT, CrowdPost, LocalCrowds
from safestream.moderation.modes.rule_io import Hit, Sender

__all__ = ["CROWD", "REPEAT", "UniqueChat", "letters_key"]
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


class UniqueChat:
    def __init__(self, crowds: LocalCrowds | None = None) -> None:
        #: The "many users" count: this process's table, or the cluster's (``crowd.RedisCrowds``).
        self.crowds = crowds or LocalCrowds()
        self._users: dict[tuple[str, str], deque[tuple[float, bytes]]] = {}

    def check(
        self, stream: str, text: str, modes: ChatModes, sender: Sender, *, commit: bool = True, now: float | None = None
    ) -> Hit | None:
        rule = modes.unique
        if not rule.on or sender.privileged:
            return None
        now = time.monotonic() if now is None else now
        key = _said(text)
        cutoff = now - rule.window_secs
        mine = self._users.get((stream, sender.username))
        if mine is not None:
            while mine and mine[0][0] <= cutoff:
                mine.popleft()
            if any(k == key for _, k in mine):
                return REPEAT
        crowd_hit = len(key[:CROWD_PREFIX]) >= rule.crowd_min_letters and self.crowds.check(
            self.crowd_post(stream, key, sender.username, modes), now, commit=commit
        )
        if commit:
            if mine is None:
                mine = self._users[(stream, sender.username)] = deque(maxlen=PER_USER)
            mine.append((now, key))
        return CROWD if crowd_hit else None

    @staticmethod
    def crowd_post(stream: str, said: bytes, user: str, modes: ChatModes) -> CrowdPost:
        """What the counts see of a message (an empty ``key``: too short to be copy-pasta)."""
        rule = modes.unique
        key = said[:CROWD_PREFIX]
        if len(key) < rule.crowd_min_letters:
            key = b""
        return CrowdPost(stream, said, key, user, rule.crowd_users, rule.window_secs)

    def post_for(self, stream: str, text: str, user: str, modes: ChatModes) -> CrowdPost | None:
        """What the cluster's ``confirm`` needs of a message ``check`` let through; None when there is
        nothing to ask (unique chat off, or one process: ``check`` already saw everything)."""
        if not modes.unique.on or not self.crowds.shared:
            return None
        return self.crowd_post(stream, _said(text), user, modes)

    def sweep(self, max_window: float = 3600.0, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        cutoff = now - max_window
        for key in [k for k, d in self._users.items() if not d or d[-1][0] <= cutoff]:
            del self._users[key]
        self.crowds.sweep()

    def forget_stream(self, stream: str) -> None:
        self.crowds.forget_stream(stream)


#: A message's key is asked for twice with a cluster (``check``, then ``post_for``) and once more by
#: each copy of a copy-paste flood: derived once per distinct recent text.
@lru_cache(maxsize=1024)
def _said(text: str) -> bytes:
    return letters_key(text) or text.encode("utf-8", "surrogatepass")  # "123": compared as typed
