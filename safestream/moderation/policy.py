"""Turning scores into an action: allow, flag, mask, hold or block.

A policy is a list of levels (category, threshold, action); every level whose
category score reaches its threshold votes, and the most severe vote wins.
``*`` matches the highest score of any category.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ACTIONS: tuple[str, ...] = ("allow", "flag", "mask", "hold", "block")
SEVERITY = {action: rank for rank, action in enumerate(ACTIONS)}
VISIBLE = frozenset({"allow", "flag", "mask"})


@dataclass(frozen=True, slots=True)
class Level:
    category: str
    threshold: float
    action: str

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "threshold": self.threshold, "action": self.action}


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    score: float
    toxic: bool
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    levels: tuple[Level, ...]
    failure_action: str = "hold"
    slow_mode_secs: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def default(cls, threshold: float, *, failure_action: str = "hold") -> Policy:
        """The original design's behaviour: toxic messages are shown, flagged."""
        return cls(levels=(Level("*", threshold, "flag"),), failure_action=failure_action)

    @property
    def flag_threshold(self) -> float:
        return min((lvl.threshold for lvl in self.levels if lvl.action != "allow"), default=1.0)

    def decide(self, scores: Mapping[str, float], *, failed: bool = False) -> Decision:
        top_category, top = max(scores.items(), key=lambda kv: kv[1], default=(None, 0.0))
        if failed:
            return Decision(self.failure_action, top, self.failure_action != "allow", top_category)
        action, category = "allow", None
        for level in self.levels:
            value = top if level.category == "*" else scores.get(level.category, 0.0)
            if value >= level.threshold and SEVERITY[level.action] > SEVERITY[action]:
                action = level.action
                category = top_category if level.category == "*" else level.category
        return Decision(action, top, action != "allow", category)
