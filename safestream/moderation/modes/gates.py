"""Who may chat at all: allow-list (members-only), account age, verified email.

Gates always refuse (there is nothing to hold: the sender may not speak), and
``standing`` gives the same answer before anything is typed, so the viewer
client can disable its composer and say why.
"""

from __future__ import annotations

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.rule_io import Hit, Sender


def check_gates(modes: ChatModes, sender: Sender) -> Hit | None:
    if sender.privileged:
        return None
    if modes.members_only and sender.username not in modes.member_set:
        return Hit(
            "members_only", "refuse", "members_only", "only the streamer's members and moderators can chat right now"
        )
    if modes.min_account_age_mins > 0:
        need = modes.min_account_age_mins * 60
        age = sender.account_age_secs
        if age is None or age < need:
            wait = need - (age or 0.0)
            return Hit(
                "account_age",
                "refuse",
                "account_too_new",
                f"accounts younger than {modes.min_account_age_mins:g} min cannot chat here"
                f" (about {max(1, round(wait / 60))} min to go)",
            )
    if modes.verified_email and not sender.email_verified:
        return Hit("verified_email", "refuse", "email_not_verified", "verify your email address to chat in this stream")
    return None
