"""Each stream's moderation policy, cached for the send path.

``get`` is a synchronous dict hit (it runs for every message); ``load``
fetches a stream's stored policy the first time the stream is used, and
``update`` writes through to the database.
"""

from __future__ import annotations

from safestream.cluster import Cluster
from safestream.moderation.policy import Policy
from safestream.storage import policies as policy_store
from safestream.storage.db import SessionMaker


class PolicyBook:
    def __init__(self, sessions: SessionMaker, default: Policy, cluster: Cluster | None = None) -> None:
        self._sessions = sessions
        self._cluster = cluster or Cluster()
        self.default = default
        self._policies: dict[str, Policy] = {}
        self._loaded: set[str] = set()

    def get(self, stream: str) -> Policy:
        return self._policies.get(stream, self.default)

    def is_custom(self, stream: str) -> bool:
        return stream in self._policies

    async def load(self, stream: str) -> Policy:
        if stream not in self._loaded:
            stored = await policy_store.get_policy(self._sessions, stream=stream)
            if stored is not None:
                self._policies[stream] = stored
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
