"""Shield mode: one switch to a stricter policy, and back to exactly the previous one.

Turning it on stores the policy in force inside the shielded one
(``Policy.shield_previous``), so the way back survives restarts and holds in
every process: it is part of the stored policy. The preset only tightens:
unique chat on, links held (unless already refused), account age and slow
mode raised to the preset's minimum, and what the stream's levels flag or mask
held too once the model is confident (from the preset's ``hold_threshold``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.policy import Level, Policy


def shield_on(policy: Policy) -> dict[str, Any]:
    """The shielded policy's data (compiled by the caller, off the loop: ``PolicyBook.compile``)."""
    if policy.shield_previous is not None:
        return policy.to_dict()  # already on: turning it on again must not lose the way back
    preset = policy.modes.shield_preset
    modes: ChatModes = policy.modes
    links = modes.links
    if links.action in ("off", "flag", "mask"):
        links = replace(links, action="hold")
    modes = replace(
        modes,
        unique=replace(modes.unique, on=True),
        links=links,
        min_account_age_mins=max(modes.min_account_age_mins, preset.min_account_age_mins),
    )
    levels = _stricter_levels(policy.levels, preset.hold_threshold)
    previous = policy.to_dict()
    data: dict[str, Any] = {
        **previous,
        "levels": [{"category": lv.category, "threshold": lv.threshold, "action": lv.action} for lv in levels],
        "slow_mode_secs": max(policy.slow_mode_secs, preset.slow_mode_secs),
        "modes": modes.to_dict(),
        "shield_previous": previous,
    }
    return data


def shield_off(policy: Policy) -> dict[str, Any]:
    """The data of the policy from before shield mode (exactly as it was stored)."""
    if policy.shield_previous is None:
        return policy.to_dict()
    return {**policy.shield_previous, "shield_previous": None}


def _stricter_levels(levels: tuple[Level, ...], hold_at: float) -> tuple[Level, ...]:
    """The stream's own levels, all kept, plus a hold from ``hold_at`` for what they flag or mask.

    What the levels flag or mask below ``hold_at`` is still flagged or masked
    (shown), not held: a flag line is drawn where a false positive is cheap (a
    tag on a message), and turning it into a hold made the model's rare false
    positives on ordinary chat vanish from the room (``load/README.md``, raid).
    No new categories are added (beyond toxicity when nothing watches it): a
    category the stream does not act on (the default policy leaves ``obscene``
    to the term lists) stays that way, or shield would hold ordinary chat.
    """
    out: list[Level] = list(levels)
    for level in levels:
        if level.action in ("flag", "mask"):
            hold = Level(level.category, max(level.threshold, hold_at), "hold")
            if hold not in out:
                out.append(hold)
    if not any(level.category in ("*", "toxicity") and level.action != "allow" for level in levels):
        out.append(Level("toxicity", hold_at, "hold"))
    return tuple(out)
