"""Mention spam: more than ``max_mentions`` @names in one message."""

from __future__ import annotations

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.rule_io import Hit, Sender, verdict


def count_mentions(text: str) -> int:
    """Words starting with '@' and a name character, counted with C-level ``split``/``join``/``count``."""
    if "@" not in text:
        return 0
    spaced = (
        text
        if text.isascii() and "\t" not in text and "\n" not in text and "\r" not in text
        else " ".join(text.split())
    )
    padded = " " + spaced + " "
    return padded.count(" @") - padded.count(" @ ") - padded.count(" @@")


def check_mentions(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.mentions
    if rule.action == "off" or sender.privileged or text.count("@") <= rule.max_mentions:
        return None
    if count_mentions(text) <= rule.max_mentions:
        return None
    message = f"at most {rule.max_mentions} @mentions per message"
    if rule.action != "mask":
        return verdict("mentions", rule.action, "too_many_mentions", message)
    seen, words = 0, []  # keep the first few mentions, drop the '@' of the rest
    for word in text.split(" "):
        if len(word) > 1 and word[0] == "@":
            seen += 1
            if seen > rule.max_mentions:
                word = word[1:]
        words.append(word)
    return Hit("mentions", rule.action, "too_many_mentions", message, shown=" ".join(words))
