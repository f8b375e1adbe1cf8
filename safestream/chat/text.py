"""Checking the text of a chat message."""

from __future__ import annotations

import re
from typing import Any

from safestream.errors import InvalidPayload, SafeStreamError

# C0/C1 controls except tab and newline, lone surrogates (invalid Unicode), and
# the bidirectional controls (embeddings, overrides, isolates, LRM/RLM/ALM):
# "\u202etoidi gnikcuf" displays reversed, so the text viewers see and the
# text moderation scores would differ. Removing them from the stored and
# broadcast text makes both the same string.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def clean_message(raw: Any, *, max_length: int) -> str:
    """The message as viewers will see it, or a typed refusal."""
    if not isinstance(raw, str):
        raise InvalidPayload("message must be a string")
    text = _CONTROL.sub("", raw).strip()
    if not text:
        raise SafeStreamError("message is empty", code="empty", status=422)
    if len(text) > max_length:
        raise SafeStreamError(
            f"message is longer than {max_length} characters", code="too_long", status=413, max_length=max_length
        )
    return text
