"""Changing a stream's policy and chat modes: check -> do -> notify -> audit.

Every change goes through ``apply_policy``: the policy book stores it and
tells the other processes (their caches reload), the audit log records it,
and the stream's viewers get a ``modes`` event from the broadcaster so their
clients update the composer and the shield banner. Used by the REST API and
the console alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.moderator_actions import ModeratorActions
from safestream.chat.stream_policies import PolicyBook
from safestream.moderation.modes.rule_io import Hit
from safestream.moderation.modes.shield import shield_off, shield_on
from safestream.moderation.policy import Policy


def public_modes(stream: str, policy: Policy) -> dict[str, Any]:
    """The ``modes`` payload (also in the ``join`` ack): what a viewer's client shows."""
    return {
        "stream": stream,
        "shield": policy.shield_previous is not None,
        "slow_mode_secs": policy.slow_mode_secs,
        **policy.modes.public(),
    }


def standing_payload(hit: Hit | None) -> dict[str, Any]:
    """Whether this user may chat here now, and if not, why (the composer's reason)."""
    if hit is None:
        return {"can_chat": True}
    return {"can_chat": False, "code": hit.code, "reason": hit.message}


class PolicyChanges:
    def __init__(self, *, policies: PolicyBook, actions: ModeratorActions, broadcaster: Broadcaster) -> None:
        self._policies = policies
        self._actions = actions
        self._broadcaster = broadcaster

    async def compile_edit(self, *, stream: str, data: Mapping[str, Any]) -> Policy:
        """A moderator's edit (REST or console), compiled off the loop, not applied yet.

        Omitted ``modes`` keep the stream's current ones (clients from before modes
        do not switch them off), and an edit made while shield is on keeps the
        shield's way back to the policy from before it.
        """
        policies = self._policies
        current = await policies.load(stream)
        data = {**data, "shield_previous": current.shield_previous}
        if data.get("modes") is None:
            data["modes"] = current.modes.to_dict()
        return await policies.compile(data)

    async def edit_policy(self, *, stream: str, data: Mapping[str, Any], actor: str) -> Policy:
        return await self.apply_policy(
            stream=stream, policy=await self.compile_edit(stream=stream, data=data), actor=actor
        )

    async def apply_policy(self, *, stream: str, policy: Policy, actor: str, action: str = "policy_update") -> Policy:
        await self._policies.update(stream, policy, actor=actor)
        await self._actions.record(actor=actor, action=action, stream=stream, details=policy.to_dict())
        await self._broadcaster.modes(stream, public_modes(stream, policy))
        return policy

    async def set_shield(self, *, stream: str, on: bool, actor: str) -> Policy:
        policies = self._policies
        current = await policies.load(stream)
        if (current.shield_previous is not None) == on:
            return current  # nothing to do (and nothing to audit)
        data = shield_on(current) if on else shield_off(current)
        return await self.apply_policy(
            stream=stream, policy=await policies.compile(data), actor=actor, action="shield_on" if on else "shield_off"
        )
