"""Unique chat: refuse a user's repeated message and copy-paste floods.

Texts are compared by their letters only, casefolded ("FOLLOW me!!! 123" and
"follow me" are the same text), computed with C-level string and bytes methods.
A user's own repeats are remembered per process (their last ``PER_USER``
texts); the "many users" count is ``crowd``'s: per process by default, and
across the cluster through Redis with ``REDIS_URL``. The app's sweeper drops
what has aged out.
"""

from __future__ import annotations

import time
from collections import deque

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.crowd import CrowdPost, LocalCrowds
from safestream.moderation.modes.rule_io import Hit, Sender

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
        key = letters_key(text) or text.encode("utf-8", "surrogatepass")  # "123": compared as typed
        cutoff = now - rule.window_secs
        mine = self._users.get((stream, sender.username))
        if mine is not None:
            while mine and mine[0][0] <= cutoff:
                mine.popleft()
            if any(k == key for _, k in mine):
                return _duplicate("you just sent that")
        post = self.crowd_post(stream, key, sender.username, modes)
        crowd_hit = post is not None and self.crowds.check(post, now, commit=commit)
        if commit:
            if mine is None:
                mine = self._users[(stream, sender.username)] = deque(maxlen=PER_USER)
            mine.append((now, key))
        return CROWD if crowd_hit else None

    @staticmethod
    def crowd_post(stream: str, key: bytes, user: str, modes: ChatModes) -> CrowdPost | None:
        """What the flood count sees of a message (None: too short to be copy-pasta)."""
        rule = modes.unique
        key = key[:CROWD_PREFIX]
        if len(key) < rule.crowd_min_letters:
            return None
        return CrowdPost(stream, key, user, rule.crowd_users, rule.window_secs)

    def post_for(self, stream: str, text: str, user: str, modes: ChatModes) -> CrowdPost | None:
        """The flood-count entry for a message the send path let through, for the cluster's ``confirm``."""
        if not modes.unique.on:
            return None
        return self.crowd_post(stream, letters_key(text) or text.encode("utf-8", "surrogatepass"), user, modes)

    def sweep(self, max_window: float = 3600.0, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        cutoff = now - max_window
        for key in [k for k, d in self._users.items() if not d or d[-1][0] <= cutoff]:
            del self._users[key]
        self.crowds.sweep()

    def forget_stream(self, stream: str) -> None:
        self.crowds.forget_stream(stream)


def _duplicate(message: str) -> Hit:
    return Hit("unique", "refuse", "duplicate", f"unique chat: {message}")


#: The refusal of a copy-paste flood (locally or by the cluster's count).
CROWD = _duplicate("many people are posting this same message right now")
