"""What several SafeStream processes share: one interface, an in-process and a Redis implementation.

``create_cluster(settings)`` picks the implementation (Redis when
``REDIS_URL`` is set); ``ClusterEvents`` applies other processes' events to
this one. Everything else receives a ``Cluster`` in its constructor.
"""

from __future__ import annotations

from safestream.cluster.base import Cluster, EventHandler
from safestream.cluster.memory import InProcessCluster
from safestream.cluster.redis_cluster import RedisCluster
from safestream.settings import Settings

__all__ = ["Cluster", "EventHandler", "InProcessCluster", "RedisCluster", "create_cluster"]


def create_cluster(settings: Settings) -> Cluster:
    if settings.redis_url:
        return RedisCluster(settings.redis_url, prefix=settings.redis_prefix)
    return InProcessCluster()
