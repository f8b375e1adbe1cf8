"""A bounded LRU of recent chain verdicts, keyed by normalized text.

Chat repeats itself: copy-paste floods, "gg", "lol", emote spam. Scoring the
same normalized text again gives the same scores, so a flood of one text costs
one model call instead of thousands.

Why this is safe:

* The chain's scores are a function of the normalized text alone: every
  stage sees only that text, and nothing about the stream, the sender or the
  time enters scoring. Everything that does depend on them (each stream's
  policy and term lists, chat-mode rules, strikes) is applied *after* the
  scores, to every message, cached or not.
* A verdict the expensive stage did not read (band mode, plain chat) is not
  used when a caller asks for every text to be read (``escalated=True``); it
  is scored again and replaced.
* Failed assessments (a stage raised or timed out) are never cached, so a
  transient failure is retried on the next copy instead of repeated.
* Bounded by entry count, and keys are at most a chat message long, so the
  memory is bounded (4,096 entries of <= 500 characters: ~2 MB at worst).
* The weights never change inside a running process, so entries never go
  stale; the cache lives in memory only and is gone on restart.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safestream.moderation.engine import Assessment


class VerdictCache:
    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[str, Assessment] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, normalized: str, *, escalated: bool) -> Assessment | None:
        """A copy of the cached verdict, if there is one good enough (read by the model when required)."""
        entry = self._entries.get(normalized)
        if entry is None or (escalated and not entry.escalated):
            self.misses += 1
            return None
        self._entries.move_to_end(normalized)
        self.hits += 1
        return entry.copy()

    def put(self, normalized: str, assessment: Assessment) -> None:
        if self.size <= 0 or assessment.failed:
            return
        self._entries[normalized] = assessment.copy()
        self._entries.move_to_end(normalized)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
