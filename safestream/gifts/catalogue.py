"""The gifts that exist: the server owns the list, clients only pick from it.

A gift carries no free text, so nothing a sender types reaches viewers through
a gift: the name and icon shown come from here. Each gift has a name id
(``rose``) and a numeric id: the original design's clients send integers
(``"gift_id": 999``), and get their id back in the type they sent it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safestream.errors import InvalidPayload

#: The most of one gift a single request may send (documented in PROTOCOL.md).
MAX_AMOUNT = 100


@dataclass(frozen=True, slots=True)
class Gift:
    id: str
    number: int
    name: str
    icon: str
    value: int
    #: How often the demo producer picks it, relative to the others.
    weight: int

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "numeric_id": self.number, "name": self.name, "icon": self.icon, "value": self.value}


CATALOGUE: tuple[Gift, ...] = (
    Gift("rose", 1, "Rose", "rose", 1, 40),
    Gift("heart", 2, "Heart", "heart", 5, 30),
    Gift("star", 3, "Star", "star", 10, 15),
    Gift("rocket", 4, "Rocket", "rocket", 50, 8),
    Gift("lion", 5, "Lion", "lion", 100, 5),
    # 999 is the id the original design's clients and tests send.
    Gift("universe", 999, "Universe", "universe", 500, 2),
)
_BY_ID = {gift.id: gift for gift in CATALOGUE}
_BY_NUMBER = {gift.number: gift for gift in CATALOGUE}


def lookup(raw: Any) -> Gift:
    """The catalogue entry for a name id or a numeric id; ``unknown_gift`` otherwise."""
    gift = None
    if isinstance(raw, bool):
        gift = None
    elif isinstance(raw, int):
        gift = _BY_NUMBER.get(raw)
    elif isinstance(raw, str):
        gift = _BY_ID.get(raw)
    if gift is None:
        known = ", ".join(f"{g.id} ({g.number})" for g in CATALOGUE)
        raise InvalidPayload(f"no such gift; the catalogue (GET /api/gifts) has {known}", code="unknown_gift")
    return gift
