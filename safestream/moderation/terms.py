"""Blocked and permitted term lists, matched on normalized text.

A ``TermList`` compiles every blocked term into one regular expression (a
character trie, so the engine rejects most positions on the first character),
and the permitted terms into another. ``find`` takes text that is *already
normalized* (the moderation engine has it); ``find_raw`` normalizes first.
``mask`` works on the original text the viewers see, using the position map
from ``normalize_with_map`` so "f.u.c.k" is masked even though the match was
found as "fuck".

Entry syntax: "word" (whole word), "word*" (prefix: word starts with it),
"*word" (suffix: word ends with it), "*word*" (anywhere, even mid-word).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from safestream.moderation.default_terms import DEFAULT_BLOCKED, DEFAULT_PERMITTED
from safestream.moderation.normalize import normalize, normalize_with_map
from safestream.moderation.term_rule import Mode, TermRule

__all__ = ["DEFAULT_BLOCKED", "DEFAULT_PERMITTED", "Mode", "TermList", "TermMatch", "TermRule"]

# Boundary checks use "letter or digit" ([^\W_]): "fuck_you" and "shit!" still
# end a word, while "class" does not end at "ass".
_NOT_AFTER_WORDCHAR = r"(?![^\W_])"
# A character trie: each key is one character; "" marks the end of a term.
_Trie = dict[str, "_Trie"]


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A blocked term found in normalized text.

    ``start``/``end`` cover the whole word the term sits in ("fucking" for
    "fuck*", "motherfucker" for "*fuck*"; a word or phrase rule covers itself),
    so masking hides the word rather than leaving "mother****er" half readable.
    """

    rule: TermRule
    start: int
    end: int

    @property
    def term(self) -> str:
        return self.rule.term

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


def _as_rule(entry: TermRule | str) -> TermRule:
    return entry if isinstance(entry, TermRule) else TermRule.parse(entry)


def _tail(mode: str, length: int) -> str:
    """The boundary checks placed at the end of a term of ``length`` chars.

    The start-of-word check is a lookbehind *after* the term (width length+1)
    rather than a lookbehind before it, so every alternative begins with a
    literal and the regex engine can skip positions on their first character.
    """
    not_before = rf"(?<![^\W_].{{{length}}})"
    return {
        "word": not_before + _NOT_AFTER_WORDCHAR,
        "prefix": not_before,
        "suffix": _NOT_AFTER_WORDCHAR,
        "anywhere": "",
    }[mode]


def _compile(rules: dict[str, TermRule]) -> re.Pattern[str] | None:
    """One trie-shaped regex over normalized terms; longer terms are tried first."""
    if not rules:
        return None
    trie: _Trie = {}
    for term in rules:
        node = trie
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: _Trie, depth: int, prefix: str) -> str:
        alts = [re.escape(ch) + build(child, depth + 1, prefix + ch) for ch, child in sorted(node.items()) if ch]
        if "" in node:  # a term ends here; try it after its longer extensions
            alts.append(_tail(rules[prefix].mode, depth))
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return re.compile(build(trie, 0, ""), re.DOTALL)


def _index(entries: Iterable[TermRule | str]) -> dict[str, TermRule]:
    """Rules keyed by normalized term ("b1tch" and "bitch" are one term).

    A term may have one mode only: a regex match cannot tell which of two
    modes it satisfied, so a conflict is refused rather than half-applied.
    """
    rules: dict[str, TermRule] = {}
    for rule in map(_as_rule, entries):
        key = normalize(rule.term)
        if not key:
            raise ValueError(f"term {rule.term!r} normalizes to nothing")
        known = rules.setdefault(key, rule)
        if known.mode != rule.mode:
            raise ValueError(f"term {key!r} listed as both {known.mode} and {rule.mode}")
    return rules


_WORD_RUN = re.compile(r"[^\W_]+")
_Hit = tuple[int, int, TermRule]


def _drop_permitted(hits: list[_Hit], allowed: list[tuple[int, int]]) -> list[_Hit]:
    """Hits not lying inside an allowed span; one linear pass over both lists.

    Both lists come from ``finditer``, so each is sorted and non-overlapping:
    the only allowed span that can contain a hit is the first one ending at or
    after the hit's end.
    """
    kept: list[_Hit] = []
    j = 0
    for hit in hits:
        while j < len(allowed) and allowed[j][1] < hit[1]:
            j += 1
        if not (j < len(allowed) and allowed[j][0] <= hit[0]):
            kept.append(hit)
    return kept


def _widen(text: str, hits: list[_Hit]) -> list[TermMatch]:
    """Stretch hits to whole words, dropping repeats of one rule in one word.

    Word bounds come from one pass plus a binary search per hit, so a single
    huge word holding thousands of hits ("fuckfuckfuck...") stays linear.
    """
    words = [m.span() for m in _WORD_RUN.finditer(text)]
    word_starts = [a for a, _ in words]
    matches: list[TermMatch] = []
    for start, end, rule in hits:
        i = bisect.bisect_right(word_starts, start) - 1
        if i >= 0 and words[i][1] > start:
            start = words[i][0]
        i = bisect.bisect_right(word_starts, end - 1) - 1
        if i >= 0 and words[i][1] > end - 1:
            end = words[i][1]
        match = TermMatch(rule, start, end)
        if not matches or matches[-1] != match:
            matches.append(match)
    return matches


class TermList:
    """Blocked terms minus permitted ones, compiled for fast matching."""

    def __init__(self, blocked: Iterable[TermRule | str], permitted: Iterable[TermRule | str] = ()) -> None:
        # Terms are normalized like the text so "b1tch" in a list still matches.
        self._blocked = _index(blocked)
        self._permitted = _index(permitted)
        self._blocked_re = _compile(self._blocked)
        self._permitted_re = _compile(self._permitted)

    @classmethod
    def default(cls) -> TermList:
        """The built-in English list (``DEFAULT_BLOCKED`` / ``DEFAULT_PERMITTED``)."""
        return cls(DEFAULT_BLOCKED, DEFAULT_PERMITTED)

    def find(self, normalized: str) -> list[TermMatch]:
        """Blocked matches in text that ``normalize`` already produced."""
        if self._blocked_re is None:
            return []
        hits = [(m.start(), m.end(), self._blocked[m.group()]) for m in self._blocked_re.finditer(normalized)]
        if not hits:
            return []
        if self._permitted_re is not None:
            # A permitted term suppresses blocked terms lying inside it
            # ("cunt" in "scunthorpe", "cum" in "cum laude").
            allowed = [m.span() for m in self._permitted_re.finditer(normalized)]
            hits = _drop_permitted(hits, allowed)
        return _widen(normalized, hits)

    def find_raw(self, text: str) -> list[TermMatch]:
        """Normalize ``text`` and find blocked terms (spans refer to normalized text)."""
        return self.find(normalize(text))

    def mask(self, original: str, *, fill: str = "*", keep_first: bool = True) -> str:
        """``original`` with every blocked match replaced by ``fill`` characters.

        The result has the same length; whitespace inside a match is kept so
        the message keeps its shape ("f u c k" -> "f * * *").
        """
        if len(fill) != 1:
            raise ValueError("fill must be one character")
        if not self.find(normalize(original)):  # common case: skip the slow map
            return original
        mapped = normalize_with_map(original)
        # Merge overlapping spans first so each character is filled once.
        spans: list[list[int]] = []
        for a, b in sorted(mapped.original_span(m.start, m.end) for m in self.find(mapped.text)):
            if spans and a < spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
        chars = list(original)
        for a, b in spans:
            for i in range(a + 1 if keep_first else a, b):
                if not chars[i].isspace():
                    chars[i] = fill
        return "".join(chars)
