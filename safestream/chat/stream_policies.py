"""Each stream's moderation policy, cached for the send path.

``get`` is a synchronous dict hit (it runs for every message); ``load``
fetches a stream's stored policy the first time the stream is used, and
``update`` writes through to the database. Compiling a policy's term lists
into regular expressions takes up to a second for long lists, so ``compile``
runs it on one worker thread: the event loop keeps serving, and many policy
updates at once queue there instead of crowding the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from safestream.cluster import Cluster, InProcessCluster
from safestream.errors import InvalidPayload
from safestream.moderation.policy import Policy
from safestream.storage import policy_rows as policy_store
from safestream.storage.db import SessionMaker


class PolicyBook:
    def __init__(self, sessions: SessionMaker, default: Policy, cluster: Cluster | None = None) -> None:
        self._sessions = sessions
        self._cluster = cluster or InProcessCluster()
        self.default = default
        self._policies: dict[str, Policy] = {}
        self._loaded: set[str] = set()
        self._compiler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy-compile")

    async def compile(self, data: Mapping[str, Any]) -> Policy:
        """A policy from validated data, built off the loop; a conflicting entry is a typed 422."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._compiler, Policy.from_dict, data)
        except ValueError as exc:  # e.g. "fuck" against the built-in "*fuck*": one term, two modes
            raise InvalidPayload(f"the policy is inconsistent: {exc}", code="invalid_policy") from exc

    async def with_permitted(self, stream: str, *terms: str) -> Policy:
        """The stream's policy plus permitted ``terms``, compiled like ``compile`` (not stored)."""
        policy = self.get(stream)
        extra = [t for t in terms if t not in policy.permitted_terms]
        return await self.compile({**policy.to_dict(), "permitted_terms": [*policy.permitted_terms, *extra]})

    def close(self) -> None:
        self._compiler.shutdown(wait=False, cancel_futures=True)

    def get(self, stream: str) -> Policy:
        return self._policies.get(stream, self.default)

    def is_custom(self, stream: str) -> bool:
        return stream in self._policies

    async def load(self, stream: str) -> Policy:
        if stream not in self._loaded:
            data = await policy_store.get_policy_data(self._sessions, stream=stream)
            if data is not None:
                self._policies[stream] = await self.compile(data)
            self._loaded.add(stream)
        return self.get(stream)

    async def update(self, stream: str, policy: Policy, *, actor: str) -> None:
        await policy_store.put_policy(self._sessions, stream=stream, policy=policy, actor=actor)
        self._policies[stream] = policy
        self._loaded.add(stream)
        await self._cluster.broadcast("policy", {"stream": stream})

    async def reset(self, stream: str) -> None:
        """The stream goes back to the server default (its stored policy is deleted)."""
        await policy_store.delete_policy(self._sessions, stream=stream)
        self._policies.pop(stream, None)
        self._loaded.add(stream)
        await self._cluster.broadcast("policy", {"stream": stream})

    async def reload(self, stream: str) -> Policy:
        """Another process changed the stream's policy: read it again."""
        self._loaded.discard(stream)
        self._policies.pop(stream, None)
        return await self.load(stream)
