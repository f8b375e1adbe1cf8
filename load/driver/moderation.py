"""The server's moderation step built in this process: the chain and the default policy, from the environment."""

from __future__ import annotations

import os
from collections.abc import Sequence

from safestream.moderation.engine import ModerationEngine
from safestream.moderation.policy import Decision, Policy
from safestream.settings import Settings


async def load_chain(chain: str | None) -> tuple[Settings, Policy, ModerationEngine]:
    """Settings, the default policy and a loaded engine, as ``safestream serve`` builds them.

    ``chain`` sets SAFESTREAM_MODERATION first (None: the environment's or the default chain).
    The caller closes the engine.
    """
    if chain:
        os.environ["SAFESTREAM_MODERATION"] = chain
    settings = Settings.from_env()
    policy = Policy.default(settings.toxic_threshold, failure_action=settings.moderation_failure_action)
    engine = ModerationEngine.from_settings(settings)
    await engine.load()
    return settings, policy, engine


async def moderate(engine: ModerationEngine, policy: Policy, texts: Sequence[str]) -> list[Decision]:
    """The pipeline's _process minus publishing: assess the batch, then judge each message."""
    assessments = await engine.assess(texts)
    return [policy.judge(t, a.normalized, a.scores, failed=a.failed) for t, a in zip(texts, assessments, strict=True)]
