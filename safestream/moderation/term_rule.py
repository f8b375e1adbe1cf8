"""One listed term: the word, how it must sit in a word (whole, prefix, suffix, anywhere), and its label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from safestream.moderation.contract import LABELS

Mode = Literal["word", "prefix", "suffix", "anywhere"]
_MODES: tuple[str, ...] = get_args(Mode)


@dataclass(frozen=True, slots=True)
class TermRule:
    """One term, how it must sit in a word, and the label a hit implies."""

    term: str
    mode: Mode = "word"
    label: str = "toxicity"

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, not {self.mode!r}")
        if not self.term.strip() or "*" in self.term:
            raise ValueError(f"bad term {self.term!r}")
        if self.label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, not {self.label!r}")

    @classmethod
    def parse(cls, entry: str, label: str = "toxicity") -> TermRule:
        """Parse "word", "word*", "*word" or "*word*"."""
        entry = entry.strip()
        lead, trail = entry.startswith("*"), entry.endswith("*") and len(entry) > 1
        term = entry[1 if lead else 0 : -1 if trail else None]
        mode: Mode = "anywhere" if lead and trail else "suffix" if lead else "prefix" if trail else "word"
        return cls(term, mode, label)
