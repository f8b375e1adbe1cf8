"""The copy-paste flood count: how many users posted this text in the window.

One interface, two implementations:

- ``LocalCrowds`` (one process, the default): an in-memory table per stream,
  answered synchronously by ``check`` on the send path before the message is
  queued, so a refused flood costs no queue slot and no model call.
  ``confirm`` has nothing to add.
- ``RedisCrowds`` (with ``REDIS_URL``): the same local table, so a flood that
  hits one process is refused at once as before, plus ``confirm``: the
  moderation batcher asks Redis once per batch (one pipelined round trip, one
  small Lua script per message: a sorted set of users per text, scored by
  wall-clock time), so the count covers every process and a flood spread
  over the cluster is refused too.

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

log = logging.getLogger(__name__)

MAX_TEXTS = 5000  # per stream, in the local table


@dataclass(frozen=True, slots=True)
class CrowdPost:
    """One message as the flood count sees it (``key``: its letters, see ``unique.letters_key``)."""

    stream: str
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

    async def confirm(self, posts: Sequence[CrowdPost]) -> list[bool]:
        """The cluster's answer for messages ``check`` let through: one process has nothing to add."""
        return [False] * len(posts)

    def sweep(self) -> None:
        for stream in [s for s, t in self._texts.items() if not t]:
            del self._texts[stream]

    def forget_stream(self, stream: str) -> None:
        self._texts.pop(stream, None)


#: KEYS[1]: the text's set; ARGV: now (s), window (s), user, limit. 1: refuse.
_CROWD_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 1 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return 0
"""


class RedisCrowds(LocalCrowds):
    shared = True

    def __init__(self, redis: Any, *, prefix: str) -> None:
        super().__init__()
        self._redis = redis
        self._prefix = prefix + "crowd:"
        self._script = redis.register_script(_CROWD_SCRIPT)
        self.healthy = True

    def _key(self, post: CrowdPost) -> str:
        digest = hashlib.blake2b(post.key, digest_size=12).hexdigest()
        return f"{self._prefix}{post.stream}:{digest}"

    async def confirm(self, posts: Sequence[CrowdPost]) -> list[bool]:
        if not posts:
            return []
        now = time.time()  # wall clock: every process must agree on the window
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for post in posts:
                    await self._script(
                        keys=[self._key(post)], args=[now, post.window_secs, post.user, post.limit], client=pipe
                    )
                answers = await pipe.execute()
        except (OSError, TimeoutError, RedisError) as exc:
            if self.healthy:
                log.error("Redis unreachable for unique chat (%s); each process counts floods alone", exc)
            self.healthy = False
            return [False] * len(posts)
        if not self.healthy:
            log.warning("Redis is back; unique chat counts floods across the cluster again")
        self.healthy = True
        return [int(a) == 1 for a in answers]
