"""The chat-mode rules in order, as the send path and the nudge call them.

``check`` answers the first refusal, or else the most severe other verdict
(flag < mask < hold < block), or None. ``commit=False`` (the nudge) leaves
the rules' state alone: a draft is never counted as a sent message.
"""

from __future__ import annotations

from collections.abc import Callable

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.crowd import CrowdPost
from safestream.moderation.modes.emotes import check_emote_only
from safestream.moderation.modes.gates import check_gates
from safestream.moderation.modes.links import check_links
from safestream.moderation.modes.mentions import check_mentions
from safestream.moderation.modes.rule_io import Hit, Sender
from safestream.moderation.modes.shouting import check_caps, check_repeats
from safestream.moderation.modes.unique import UniqueChat
from safestream.moderation.policy import SEVERITY

Rule = Callable[[str, ChatModes, Sender], Hit | None]

#: The stateless content rules, cheapest first.
CONTENT_RULES: tuple[Rule, ...] = (check_emote_only, check_mentions, check_caps, check_repeats, check_links)


class ModeChecker:
    def __init__(self, unique: UniqueChat | None = None) -> None:
        self.unique = unique or UniqueChat()

    def standing(self, modes: ChatModes, sender: Sender) -> Hit | None:
        """Whether the sender may chat at all (the viewer's composer shows this before typing)."""
        return check_gates(modes, sender)

    def check(self, stream: str, text: str, modes: ChatModes, sender: Sender, *, commit: bool = True) -> Hit | None:
        if sender.privileged:
            return None
        hit = check_gates(modes, sender)
        if hit is not None:
            return hit
        best: Hit | None = None
        for rule in CONTENT_RULES:
            found = rule(text, modes, sender)
            if found is None:
                continue
            if found.action == "refuse":
                return found
            if best is None or SEVERITY[found.action] > SEVERITY[best.action]:
                best = found
        # Last, so only messages that got this far count as sent (or attempted) texts.
        found = self.unique.check(stream, text, modes, sender, commit=commit)
        return found or best

    def shared_post(self, stream: str, text: str, modes: ChatModes, sender: Sender) -> CrowdPost | None:
        """What to ask the cluster's unique-chat counts about a message ``check`` let through
        (None: nothing to ask, so no round trip: unique chat off, one process, or a privileged sender)."""
        return None if sender.privileged else self.unique.post_for(stream, text, sender.username, modes)

    async def shared_check(self, post: CrowdPost | None) -> Hit | None:
        """The cluster's answer for a draft (the nudge): recorded nowhere."""
        if post is None:
            return None
        [hit] = await self.unique.crowds.confirm([post], commit=False)
        return hit
