"""Unique chat's counts: how many users posted this text in the window, and what each user said.

One interface, two implementations:

- ``LocalCrowds`` (one process, the default): an in-memory table per stream,
  answered synchronously by ``check`` on the send path before the message is
  queued, so a refused flood costs no queue slot and no model call (a user's
  own recent texts are ``unique.UniqueChat``'s, in the same process).
  ``confirm`` has nothing to add.
- ``RedisCrowds`` (with ``REDIS_URL``): the same local tables, so a repeat or
  a flood that hits one process is refused at once as before, plus
  ``confirm``: the moderation batcher asks Redis once per batch (one
  pipelined round trip, one small Lua script per message: the user's recent
  texts and the text's posters, two sorted sets scored by wall-clock time),
  so both counts cover every process: a user repeating on server B what they
  sent on server A is refused, and so is a flood spread over the cluster.
  The pre-send nudge asks the same script with ``commit=False``. With unique
  chat off there is no post, so no Redis call at all.

Degrading: while Redis is unreachable ``confirm`` answers "not a flood" for
the batch and logs once; each process still refuses what its own table
counts, so unique chat keeps working, but a flood spread over N processes
then needs up to N times the crowd to be caught. Nothing is refused because
Redis is down.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from safestream.moderation.modes.rule_io import Hit

log = logging.getLogger(__name__)

MAX_TEXTS = 5000  # per stream, in the local table
#: A user's texts remembered for the repeat check (locally and in Redis).
PER_USER = 5


def _duplicate(message: str) -> Hit:
    return Hit("unique", "refuse", "duplicate", f"unique chat: {message}")


#: The refusal of a user's own repeat.
REPEAT = _duplicate("you just sent that")
#: The refusal of a copy-paste flood (locally or by the cluster's count).
CROWD = _duplicate("many people are posting this same message right now")


@dataclass(frozen=True, slots=True)
class CrowdPost:
    """One message as unique chat's counts see it (``said`` and ``key``: its letters, see ``unique.letters_key``)."""

    stream: str
    #: The text compared with the user's own recent ones.
    said: bytes
    #: Its start, counted across users (empty: too short to be copy-pasta).
    key: bytes
    user: str
    limit: int
    window_secs: float


@dataclass(slots=True)
class _Crowd:
    first: float
    users: set[str] = field(default_factory=set)


class LocalCrowds:
    shared = False

    def __init__(self) -> None:
        self._texts: dict[str, OrderedDict[bytes, _Crowd]] = {}

    def check(self, post: CrowdPost, now: float, *, commit: bool) -> bool:
        """True: ``limit`` other users already posted this text here in the window (refuse it)."""
        texts = self._texts.get(post.stream)
        if texts is None:
            if not commit:
                return False
            texts = self._texts[post.stream] = OrderedDict()
        cutoff = now - post.window_secs
        while texts:  # oldest first: drop what left the window
            oldest = next(iter(texts.values()))
            if oldest.first > cutoff:
                break
            texts.popitem(last=False)
        crowd = texts.get(post.key)
        if crowd is None:
            if commit:
                if len(texts) >= MAX_TEXTS:
                    texts.popitem(last=False)
                texts[post.key] = _Crowd(now, {post.user})
            return False
        if post.user in crowd.users:
            return False
        if len(crowd.users) >= post.limit:
            return True
        if commit:
            crowd.users.add(post.user)
        return False

    async def confirm(self, posts: Sequence[CrowdPost], *, commit: bool = True) -> list[Hit | None]:
        """The cluster's answer for messages ``check`` let through (``commit=False``: a draft, recorded
        nowhere): one process has nothing to add."""
        return [None] * len(posts)

    def sweep(self) -> None:
        for stream in [s for s, t in self._texts.items() if not t]:
            del self._texts[stream]

    def forget_stream(self, stream: str) -> None:
        self._texts.pop(stream, None)


#: KEYS[1]: the user's recent texts, KEYS[2] (if counted): the text's posters.
#: ARGV: now (s), window (s), user, limit, the text's digest, texts kept per user, commit (1/0).
#: 1: the user's own repeat; 2: a flood; 0: neither. Expired entries are dropped even for a draft
#: (that changes no answer). Mirrors ``LocalCrowds.check`` and ``UniqueChat.check``.
_UNIQUE_SCRIPT = """
local now, window, commit = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[7] == '1'
local ms = math.ceil(window * 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[5]) then return 1 end
local answer = 0
if #KEYS > 1 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then
    if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
      answer = 2
    elseif commit then
      redis.call('ZADD', KEYS[2], now, ARGV[3])
      redis.call('PEXPIRE', KEYS[2], ms)
    end
  end
end
if commit then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[6]) + 1))
  redis.call('PEXPIRE', KEYS[1], ms)
end
return answer
"""
_ANSWERS: tuple[Hit | None, ...] = (None, REPEAT, CROWD)


class RedisCrowds(LocalCrowds):
    shared = True

    def __init__(self, redis: Any, *, prefix: str) -> None:
        super().__init__()
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_UNIQUE_SCRIPT)
        self.healthy = True

    def _keys(self, post: CrowdPost) -> list[str]:
        """The user's set, then (if the text is long enough to count) the text's."""
        keys = [f"{self._prefix}said:{post.stream}:{post.user}"]
        if post.key:
            keys.append(f"{self._prefix}crowd:{post.stream}:{hashlib.blake2b(post.key, digest_size=12).hexdigest()}")
        return keys

    async def confirm(self, posts: Sequence[CrowdPost], *, commit: bool = True) -> list[Hit | None]:
        if not posts:
            return []
        now = time.time()  # wall clock: every process must agree on the window
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for post in posts:
                    said = hashlib.blake2b(post.said, digest_size=12).digest()
                    args = [now, post.window_secs, post.user, post.limit, said, PER_USER, int(commit)]
                    await self._script(keys=self._keys(post), args=args, client=pipe)
                answers = await pipe.execute()
        except (OSError, TimeoutError, RedisError) as exc:
            if self.healthy:
                log.error("Redis unreachable for unique chat (%s); each process counts alone", exc)
            self.healthy = False
            return [None] * len(posts)
        if not self.healthy:
            log.warning("Redis is back; unique chat counts across the cluster again")
        self.healthy = True
        return [_ANSWERS[int(a)] for a in answers]
