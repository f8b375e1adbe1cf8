"""Turning scores into an action: allow, flag, mask, hold or block.

A policy is a list of levels (category, threshold, action): every level whose
category score reaches its threshold votes, and the most severe vote wins.
``*`` matches the highest score of any category. The stream's term lists vote
too (``term_action``, ``mask`` by default), and a failed assessment gets
``failure_action``. ``judge`` is the one function the server, the
``safestream moderate`` command and the evaluation script all use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safestream.moderation.contract import LABELS, Scores
from safestream.moderation.modes.config import ChatModes
from safestream.moderation.terms import (
    DEFAULT_BLOCKED,
    DEFAULT_PERMITTED,
    TermList,
    TermMatch,
    TermRule,
)

ACTIONS: tuple[str, ...] = ("allow", "flag", "mask", "hold", "block")
SEVERITY = {action: rank for rank, action in enumerate(ACTIONS)}
VISIBLE = frozenset({"allow", "flag", "mask"})
TERM_HIT_SCORE = 0.95
# The default policy's block lines (see Policy.default); probabilities are calibrated.
# insult blocks above TERM_HIT_SCORE: a listed insult word alone ("this level
# is a bitch") is masked; the model must be sure to block.
BLOCK_LINES = (("identity_attack", 0.8), ("threat", 0.8), ("severe_toxicity", 0.8), ("insult", 0.96))


@dataclass(frozen=True, slots=True)
class Level:
    category: str
    threshold: float
    action: str

    def __post_init__(self) -> None:
        if self.category != "*" and self.category not in LABELS:
            raise ValueError(f"category must be '*' or one of {', '.join(LABELS)}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")


@dataclass(frozen=True, slots=True)
class Strikes:
    """``count`` non-allowed messages within ``window_secs`` mute the sender.

    Each further mute in the same stream doubles ``mute_secs``.
    """

    count: int = 3
    window_secs: float = 600.0
    mute_secs: float = 300.0


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    score: float
    toxic: bool
    category: str | None = None
    shown: str = ""
    terms: tuple[str, ...] = ()
    #: "terms" or "failure" when those decided rather than a category's score.
    decided_by: str = ""
    #: The chat-mode rule that decided (``moderation.modes``), if one did.
    rule: str | None = None


@dataclass(frozen=True)
class Policy:
    levels: tuple[Level, ...]
    failure_action: str = "hold"
    blocked_terms: tuple[str, ...] = ()
    permitted_terms: tuple[str, ...] = ()
    default_terms: bool = True
    term_action: str = "mask"
    slow_mode_secs: float = 0.0
    strikes: Strikes | None = None
    modes: ChatModes = field(default_factory=ChatModes)
    #: While shield mode is on: the policy to restore when it goes off (``modes.shield``).
    shield_previous: dict[str, Any] | None = field(default=None, hash=False)
    terms: TermList = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.failure_action not in ACTIONS or self.term_action not in ACTIONS:
            raise ValueError(f"actions must be one of {', '.join(ACTIONS)}")
        blocked = [TermRule.parse(t, "obscene") for t in self.blocked_terms]
        permitted = [TermRule.parse(t) for t in self.permitted_terms]
        if self.default_terms:
            blocked = [*DEFAULT_BLOCKED, *blocked]
            permitted = [*DEFAULT_PERMITTED, *permitted]
        object.__setattr__(self, "terms", TermList(blocked, permitted))

    @classmethod
    def default(cls, threshold: float, *, failure_action: str = "hold") -> Policy:
        """Out of the box: clear abuse is blocked, mid-confidence flagged, listed profanity masked.

        Blocked (the sender is told; nobody else sees it): high-confidence
        identity attacks, threats and severe toxicity, and insults above a
        high line. Flagged (shown with a tag): ``toxicity`` at ``threshold``
        (TOXIC_THRESHOLD), which mid-confidence abuse of every kind reaches.
        Profanity alone (``obscene``) is not a level: the term lists mask
        listed words. One level per category, so the console's policy editor
        shows it as it is. Streamers loosen or tighten it per stream.
        """
        levels = [Level("toxicity", threshold, "flag")]
        levels += [Level(category, max(threshold, line), "block") for category, line in BLOCK_LINES]
        return cls(levels=tuple(levels), failure_action=failure_action)

    @property
    def flag_threshold(self) -> float:
        """The lowest threshold at which any level acts: the "toxic" line."""
        return min((lv.threshold for lv in self.levels if lv.action != "allow"), default=1.0)

    def judge(self, original: str, normalized: str, scores: Scores, *, failed: bool = False) -> Decision:
        matches: list[TermMatch] = self.terms.find(normalized)
        raised: set[str] = set()
        if matches:
            scores = dict(scores)
            # A listed term raises its own label only (a listed swear word is
            # ``obscene``, a listed slur ``identity_attack``), so profanity alone
            # gets the term action, not the levels meant for abuse.
            for match in matches:
                label = match.rule.label
                if scores.get(label, 0.0) < TERM_HIT_SCORE:
                    scores[label] = TERM_HIT_SCORE
                    raised.add(label)
        top_category, top = max(scores.items(), key=lambda kv: kv[1], default=(None, 0.0))
        decided_by = ""
        if failed:
            action, category, decided_by = self.failure_action, top_category, "failure"
        else:
            action, category = self._level_action(scores, top, top_category)
            if category in raised:
                decided_by = "terms"
            if matches and SEVERITY[self.term_action] > SEVERITY[action]:
                action, category, decided_by = self.term_action, matches[0].rule.label, "terms"
        shown = original
        if action == "mask":
            shown = self.terms.mask(original) if matches else _mask_all(original)
        terms = tuple(dict.fromkeys(m.term for m in matches))
        return Decision(action, top, action != "allow", category, shown, terms, decided_by)

    def approved(self, original: str, normalized: str, scores: Scores) -> Decision:
        """The verdict for a held message a moderator approved: what the send path would show.

        The moderator overrules the hold (or block), not the term lists: a listed
        term still gets masked when ``term_action`` masks, exactly as in chat.
        """
        decision = self.judge(original, normalized, scores)
        if decision.action in VISIBLE:
            return decision
        matches = self.terms.find(normalized)
        if matches and self.term_action == "mask":
            return Decision("mask", decision.score, True, decision.category, self.terms.mask(original), decision.terms)
        toxic = decision.score >= self.flag_threshold
        return Decision(
            "flag" if toxic else "allow", decision.score, toxic, decision.category, original, decision.terms
        )

    def _level_action(
        self, scores: Mapping[str, float], top: float, top_category: str | None
    ) -> tuple[str, str | None]:
        action, category = "allow", None
        for level in self.levels:
            value = top if level.category == "*" else scores.get(level.category, 0.0)
            if value >= level.threshold and SEVERITY[level.action] > SEVERITY[action]:
                action = level.action
                category = top_category if level.category == "*" else level.category
        return action, category

    def with_permitted(self, *terms: str) -> Policy:
        extra = tuple(t for t in terms if t not in self.permitted_terms)
        return Policy.from_dict({**self.to_dict(), "permitted_terms": [*self.permitted_terms, *extra]})

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": [{"category": lv.category, "threshold": lv.threshold, "action": lv.action} for lv in self.levels],
            "failure_action": self.failure_action,
            "blocked_terms": list(self.blocked_terms),
            "permitted_terms": list(self.permitted_terms),
            "default_terms": self.default_terms,
            "term_action": self.term_action,
            "slow_mode_secs": self.slow_mode_secs,
            "strikes": None
            if self.strikes is None
            else {
                "count": self.strikes.count,
                "window_secs": self.strikes.window_secs,
                "mute_secs": self.strikes.mute_secs,
            },
            "modes": self.modes.to_dict(),
            "shield": self.shield_previous is not None,
            "shield_previous": self.shield_previous,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Builds a policy from trusted (already validated or stored) data."""
        strikes = data.get("strikes")
        return cls(
            levels=tuple(Level(**lv) for lv in data.get("levels", ())),
            failure_action=data.get("failure_action", "hold"),
            blocked_terms=tuple(data.get("blocked_terms", ())),
            permitted_terms=tuple(data.get("permitted_terms", ())),
            default_terms=bool(data.get("default_terms", True)),
            term_action=data.get("term_action", "mask"),
            slow_mode_secs=float(data.get("slow_mode_secs", 0.0)),
            strikes=Strikes(**strikes) if strikes else None,
            modes=ChatModes.from_dict(data.get("modes")),
            shield_previous=data.get("shield_previous") or None,
        )


def _mask_all(text: str) -> str:
    """Masking when a model, not a listed word, asked for it: keep only the shape."""
    return "".join(ch if ch.isspace() else "*" for ch in text)
