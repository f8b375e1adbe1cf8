"""The cluster through Redis: state shared by several SafeStream processes.

Next to python-socketio's Redis manager (which already carries room
broadcasts between processes) this adds what rooms alone cannot:

- per-stream message and gift ids from one counter (INCRBY per batch);
- viewers per stream as one set per process, refreshed by a heartbeat, so a
  crashed process's viewers expire instead of haunting the count;
- metrics counters, cluster-wide rate limits (fixed 10 s windows, one
  pipelined round trip per moderation batch) and recent history;
- an event bus (pub/sub) for what must happen on every process: kicks, mutes
  and bans, stream status, policy changes, metrics resets;
- a per-stream lock so exactly one process runs a stream's gift producer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import orjson
from redis.exceptions import RedisError

from safestream.cluster.base import Cluster, EventHandler
from safestream.moderation.modes.crowd import LocalCrowds, RedisCrowds

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def best_effort(fallback: Callable[..., Any]) -> Callable[[F], F]:
    """While Redis is unreachable a process carries on alone: the call answers
    ``fallback(*args)`` (usually "use your local state") instead of failing."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        async def call(self: RedisCluster, *args: Any, **kwargs: Any) -> Any:
            try:
                result = await method(self, *args, **kwargs)
            except (OSError, TimeoutError, RedisError) as exc:
                self._degraded(method.__name__, exc)
                return fallback(*args, **kwargs)
            self._healthy()
            return result

        return cast(F, call)

    return wrap


NODE_TTL = 30  # seconds a process's viewer sets outlive its last heartbeat


class RedisCluster(Cluster):
    """Several processes sharing one Redis: every answer is cluster-wide (or ``None`` while Redis is away)."""

    local_history_complete = False

    def __init__(self, url: str, *, prefix: str = "ss") -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self.prefix = prefix + ":"
        self._redis = aioredis.from_url(url)
        self._streams: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.healthy = True
        # Raise the counter to the caller's floor (first use, or after an outage), then count.
        self._next_ids = self._redis.register_script(
            "local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
            "if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end "
            "return redis.call('INCRBY', KEYS[1], ARGV[2])"
        )

    def crowds(self) -> LocalCrowds:
        """On this cluster's Redis connections, under its prefix."""
        return RedisCrowds(self._redis, prefix=self.prefix)

    def _degraded(self, what: str, exc: BaseException) -> None:
        if self.healthy:
            log.error("Redis unreachable (%s: %s); this process carries on alone until it returns", what, exc)
        self.healthy = False

    def _healthy(self) -> None:
        if not self.healthy:
            log.warning("Redis is back; cluster state is shared again")
        self.healthy = True

    async def start(self, handler: EventHandler) -> None:
        await super().start(handler)
        await self._redis.ping()
        self._tasks = [
            asyncio.create_task(self._listen(), name="cluster-bus"),
            asyncio.create_task(self._heartbeat(), name="cluster-heartbeat"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):  # leaving: drop our viewers now rather than at expiry
            for stream in self._streams:
                await self._redis.delete(self._viewer_key(stream, self.node))
        await self._redis.aclose()

    @best_effort(lambda *a, **k: None)
    async def broadcast(self, kind: str, data: dict[str, Any]) -> None:
        await self._redis.publish(self.prefix + "bus", orjson.dumps({"node": self.node, "kind": kind, "data": data}))

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(self.prefix + "bus")
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    event = orjson.loads(message["data"])
                    if event.get("node") != self.node and self.handler is not None:
                        try:
                            await self.handler(event["kind"], event["data"])
                        except Exception:  # one bad event must not stop the bus
                            log.exception("cluster event %s failed", event.get("kind"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis went away: retry, local delivery goes on
                log.warning("cluster bus lost (%s); retrying", exc)
                await asyncio.sleep(1.0)

    async def next_ids(self, key: str, n: int, floor: int) -> int | None:
        """None while Redis is unreachable: the caller counts locally, and on recovery
        the shared counter is raised to at least this process's floor."""
        try:
            last = await self._next_ids(keys=[self.prefix + "seq:" + key], args=[floor, n])
        except Exception as exc:  # noqa: BLE001 - Redis down: ids come from this process meanwhile
            self._degraded("next_ids", exc)
            return None
        self._healthy()
        return int(last) - n + 1

    def _viewer_key(self, stream: str, node: str) -> str:
        return f"{self.prefix}viewers:{stream}:{node}"

    @best_effort(lambda *a, **k: None)
    async def set_viewer(self, stream: str, username: str, present: bool) -> None:
        self._streams.add(stream)
        key = self._viewer_key(stream, self.node)
        async with self._redis.pipeline(transaction=False) as pipe:
            (pipe.sadd if present else pipe.srem)(key, username)
            pipe.expire(key, NODE_TTL)
            pipe.sadd(f"{self.prefix}nodes:{stream}", self.node)
            await pipe.execute()

    @best_effort(lambda *a, **k: None)
    async def is_viewer(self, stream: str, username: str) -> bool | None:
        """Whether the user has a socket in the stream on any live process."""
        nodes = [_text(n) for n in await self._redis.smembers(f"{self.prefix}nodes:{stream}")]
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in nodes:
                pipe.sismember(self._viewer_key(stream, node), username)
            return any(await pipe.execute()) if nodes else False

    @best_effort(lambda *a, **k: None)
    async def viewer_count(self, stream: str) -> int | None:
        nodes = [_text(n) for n in await self._redis.smembers(f"{self.prefix}nodes:{stream}")]
        keys = [self._viewer_key(stream, node) for node in nodes]
        if not keys:
            return 0
        alive = await self._redis.exists(*keys)
        if alive < len(keys):  # forget processes whose sets expired
            for node, key in zip(nodes, keys, strict=True):
                if not await self._redis.exists(key):
                    await self._redis.srem(f"{self.prefix}nodes:{stream}", node)
        return len(await self._redis.sunion(keys)) if keys else 0

    async def _heartbeat(self) -> None:
        """Rewrites this process's viewer sets: keeps them alive, and restores them after an outage."""
        while True:
            await asyncio.sleep(NODE_TTL / 3)
            try:
                for stream, users in self.local_viewers().items():
                    key = self._viewer_key(stream, self.node)
                    async with self._redis.pipeline(transaction=True) as pipe:
                        pipe.delete(key)
                        if users:
                            pipe.sadd(key, *users)
                            pipe.expire(key, NODE_TTL)
                            pipe.sadd(f"{self.prefix}nodes:{stream}", self.node)
                        await pipe.execute()
                self._healthy()
            except (OSError, TimeoutError, RedisError) as exc:
                self._degraded("heartbeat", exc)

    @best_effort(lambda *a, **k: None)
    async def add_metrics(self, stream: str, messages: int = 0, toxic: int = 0, gifts: int = 0) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for field, value in (("messages", messages), ("toxic", toxic), ("gifts", gifts)):
                if value:
                    pipe.hincrby(self.prefix + "metrics", f"{stream}:{field}", value)
            await pipe.execute()

    @best_effort(lambda *a, **k: None)
    async def metrics(self, stream: str | None) -> dict[str, int] | None:
        raw = {_text(k): int(v) for k, v in (await self._redis.hgetall(self.prefix + "metrics")).items()}
        totals = {"messages": 0, "toxic": 0, "gifts": 0}
        for key, value in raw.items():
            name, _, field = key.rpartition(":")
            if stream is None or name == stream:
                totals[field] = totals.get(field, 0) + value
        return totals

    @best_effort(lambda *a, **k: None)
    async def reset_metrics(self) -> None:
        await self._redis.delete(self.prefix + "metrics")

    @best_effort(lambda users, *a, **k: [False] * len(users))
    async def over_limit(self, users: list[str], limit: int, window: float) -> list[bool]:
        bucket = int(time.time() // window)  # wall clock: every process must agree on the window
        async with self._redis.pipeline(transaction=False) as pipe:
            for user in users:
                key = f"{self.prefix}rl:{user}:{bucket}"
                pipe.incr(key)
                pipe.expire(key, int(window) + 1)
            counts = (await pipe.execute())[::2]
        return [int(count) > limit for count in counts]

    @best_effort(lambda *a, **k: None)
    async def push_history(self, stream: str, payloads: list[dict[str, Any]], keep: int) -> None:
        key = f"{self.prefix}history:{stream}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, *(orjson.dumps(p) for p in payloads))
            pipe.ltrim(key, -keep, -1)
            await pipe.execute()

    @best_effort(lambda *a, **k: None)
    async def history(self, stream: str, limit: int) -> list[dict[str, Any]] | None:
        """The newest ``limit`` entries, oldest first."""
        items = await self._redis.lrange(f"{self.prefix}history:{stream}", -limit, -1)
        return [orjson.loads(item) for item in items]

    @best_effort(lambda *a, **k: None)
    async def replace_history(self, stream: str, payloads: list[dict[str, Any]]) -> None:
        key = f"{self.prefix}history:{stream}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if payloads:
                pipe.rpush(key, *(orjson.dumps(p) for p in payloads))
            await pipe.execute()

    @best_effort(lambda *a, **k: False)
    async def lead(self, name: str, ttl: float) -> bool:
        key = f"{self.prefix}lead:{name}"
        ms = int(ttl * 1000)
        if await self._redis.set(key, self.node, nx=True, px=ms):
            return True
        owner = await self._redis.get(key)
        if owner == self.node.encode():
            await self._redis.pexpire(key, ms)
            return True
        return False


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
