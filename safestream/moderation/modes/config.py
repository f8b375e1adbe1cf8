"""A stream's chat-mode settings: the ``modes`` part of its stored policy.

Every rule is off by default, so a policy stored before modes existed (or the
server default) behaves exactly as it did. Actions are the policy's own
vocabulary plus ``refuse``: a refused message is answered with a typed error
and never queued, stored or broadcast; ``hold``/``block``/``mask``/``flag``
travel through the rest of the send path like a model's verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

#: What a content rule may do with a message it catches ("off": the rule does not run).
RULE_ACTIONS: tuple[str, ...] = ("off", "refuse", "flag", "mask", "hold", "block")

#: Emote-only mode's set when the stream lists none of its own.
DEFAULT_EMOTES: tuple[str, ...] = (
    "😀",
    "😂",
    "🤣",
    "😍",
    "😎",
    "😭",
    "😮",
    "😡",
    "👍",
    "👎",
    "👏",
    "🙌",
    "🔥",
    "💯",
    "❤️",
    "❤",
    "💜",
    "🎉",
    "🚀",
    "👀",
    "🤔",
    "🙏",
    "💀",
    "✨",
    "⭐",
    ":)",
    ":(",
    ":D",
    "<3",
)


def _check_action(name: str, action: str) -> None:
    if action not in RULE_ACTIONS:
        raise ValueError(f"{name}: action must be one of {', '.join(RULE_ACTIONS)}")


@dataclass(frozen=True, slots=True)
class UniqueChat:
    """Refuse (``duplicate``) a user's repeat, or a text many users post in one window."""

    on: bool = False
    window_secs: float = 30.0
    #: The same text from this many different users in the window: the next ones are refused.
    crowd_users: int = 3
    #: Only texts with at least this many letters count as copy-pasta ("gg" from everyone is fine).
    crowd_min_letters: int = 12


@dataclass(frozen=True, slots=True)
class Links:
    action: str = "off"
    #: A link to one of these (or a subdomain) passes; look-alike spellings do not.
    permitted_domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_action("links", self.action)


@dataclass(frozen=True, slots=True)
class Mentions:
    action: str = "off"
    max_mentions: int = 5

    def __post_init__(self) -> None:
        _check_action("mentions", self.action)


@dataclass(frozen=True, slots=True)
class Caps:
    """Messages of ``min_length`` characters or more with more than ``max_ratio`` capitals."""

    action: str = "off"
    min_length: int = 16
    max_ratio: float = 0.7

    def __post_init__(self) -> None:
        _check_action("caps", self.action)


@dataclass(frozen=True, slots=True)
class Repeats:
    """A character or emoji repeated ``max_run`` times in a row, or one word making up most of a long message."""

    action: str = "off"
    max_run: int = 10
    min_words: int = 8
    max_word_share: float = 0.6

    def __post_init__(self) -> None:
        _check_action("repeats", self.action)


@dataclass(frozen=True, slots=True)
class ShieldPreset:
    """What shield mode applies on top of the policy in force (only ever stricter)."""

    min_account_age_mins: float = 60.0
    slow_mode_secs: float = 3.0
    #: What the levels flag or mask is also held from this score (never below the level's own line);
    #: below it, it stays flagged or masked. The flag line (0.7 by default) is where a false positive
    #: costs a tag; a hold hides the message, so it waits for a confident score: the default chain
    #: scores a few ordinary lines ("haha that comeback is my favourite part") about 0.8.
    hold_threshold: float = 0.9


@dataclass(frozen=True, slots=True)
class ChatModes:
    unique: UniqueChat = field(default_factory=UniqueChat)
    links: Links = field(default_factory=Links)
    mentions: Mentions = field(default_factory=Mentions)
    caps: Caps = field(default_factory=Caps)
    repeats: Repeats = field(default_factory=Repeats)
    min_account_age_mins: float = 0.0
    verified_email: bool = False
    emote_only: bool = False
    #: The stream's emote set for emote-only mode (empty: ``DEFAULT_EMOTES``).
    emotes: tuple[str, ...] = ()
    #: Allow-list mode: only the owner, moderators and ``members`` may chat.
    members_only: bool = False
    members: tuple[str, ...] = ()
    shield_preset: ShieldPreset = field(default_factory=ShieldPreset)
    #: ``members`` as a set: the gate runs for every message.
    member_set: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        object.__setattr__(self, "member_set", frozenset(self.members))

    @property
    def emote_set(self) -> tuple[str, ...]:
        return self.emotes or DEFAULT_EMOTES

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("member_set")
        for key in ("emotes", "members"):
            data[key] = list(data[key])
        data["links"]["permitted_domains"] = list(self.links.permitted_domains)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ChatModes:
        """From stored or validated data; unknown keys are ignored, missing ones take defaults."""
        if not data:
            return cls()
        nested = {
            "unique": UniqueChat,
            "links": Links,
            "mentions": Mentions,
            "caps": Caps,
            "repeats": Repeats,
            "shield_preset": ShieldPreset,
        }
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data or not f.init:
                continue
            raw = data[f.name]
            if f.name in nested:
                kind = nested[f.name]
                names = {g.name for g in fields(kind)}
                raw = dict(raw or {})
                if "permitted_domains" in raw:
                    raw["permitted_domains"] = tuple(d.lower() for d in raw["permitted_domains"])
                raw = kind(**{k: v for k, v in raw.items() if k in names})
            elif f.name in ("emotes", "members"):
                raw = tuple(raw)
            values[f.name] = raw
        return replace(cls(), **values)

    def public(self) -> dict[str, Any]:
        """What viewers may know (the ``modes`` event): never the member list."""
        return {
            "emote_only": self.emote_only,
            "members_only": self.members_only,
            "min_account_age_mins": self.min_account_age_mins,
            "verified_email": self.verified_email,
            "unique": self.unique.on,
            "links": self.links.action,
            "emotes": list(self.emote_set) if self.emote_only else [],
        }
