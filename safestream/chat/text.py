"""Checking the text of a chat message."""

from __future__ import annotations

import re
from typing import Any

from safestream.errors import InvalidPayload, SafeStreamError

# C0/C1 controls except tab and newline, plus lone surrogates (invalid Unicode).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_message(raw: Any, *, max_length: int) -> str:
    """The message as viewers will see it, or a typed refusal."""
    if not isinstance(raw, str):
        raise InvalidPayload("message must be a string")
    text = _CONTROL.sub("", raw).strip()
    if not text:
        raise SafeStreamError("message is empty", code="empty", status=422)
    if len(text) > max_length:
        raise SafeStreamError(f"message is longer than {max_length} characters", code="too_long",
                              status=413, max_length=max_length)
    return text
