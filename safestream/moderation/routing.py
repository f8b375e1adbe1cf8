"""Which texts the sentence stage must read even when it cannot read them all (band mode).

Under overload the cascade sends the expensive stage only the texts where the
cheap stages' judgement is not enough. Abuse that a word list misses has a
shape we can spot cheaply on normalized text:

* ``second_person``: a predicate aimed at a person: "you are / you're / ur /
  u r <x>", "your <x>", "you <x>" ending the message ("shut up you clown"),
  "yourself", "are you <x>".  Not every "you": "thank you", "see you
  tomorrow", "love you all" and "are you live?" end in a word from
  ``_HARMLESS_AFTER_YOU`` and do not route.
* ``imperative``: a command at someone, opening the message ("shut up", "go
  die", "get lost", "kys").
* ``third_person``: a judgement of a person in the chat ("the streamer is a
  clown", "he's so bad", "mods are trash").
* ``group``: a mention of a group of people (identity attacks rarely contain
  a bad word: "women are too emotional to lead").
* ``terms``: the built-in term list matched (a swear word is cheap to spot,
  its meaning is not: "fuck you" vs "fuck yeah").
* ``band``: the cheap stages' highest score is at or above the band's low end.

``reason`` returns the first rule that fires (or ``None``), so the chain
benchmark can show why texts were routed.
"""

from __future__ import annotations

import re

from safestream.moderation.terms import TermList

_YOU = r"(?:you|u|ya|yall|y'all|thou)"
_SECOND_PERSON = re.compile(
    # contractions and spellings of "you are" / "you will" / "you would"
    r"\b(?:you'?re|youre|ur|u\s+r|you'?ll|youll|you'?d|ya\s+r|yall\s+r|y'all\s+are)\s+\w"
    # "you <verb of being or judging> ..."
    rf"|\b{_YOU}\s+(?:are|r|is|was|were|be|look|looks|sound|smell|stink|seem|act|suck|deserve|"
    r"should|must|better|will|gonna|need|ain'?t|can'?t|cant|don'?t|dont|never|always|such|absolute|"
    r"absolutely|total|complete|fucking|fkn|stupid|dumb|little|piece|bunch)\b"
    # "your <anything>" / "ur mom" / "yourself"
    r"|\b(?:your|yo|yer)\s+\w"
    r"|\b(?:yourself|yourselves|urself|yourselfs|kys)\b"
    # "are you <x>" / "r u <x>" questions about the person
    rf"|\b(?:are|r)\s+{_YOU}\s+(?:a|an|so|really|actually|even|stupid|dumb|blind|deaf|serious|kidding|"
    r"insane|mental|slow|retarded|okay\s+in)\b"
)
#: Words that, right after "you" at the end of a message, make it harmless chat.
_HARMLESS_AFTER_YOU = frozenset(
    [
        "too",
        "all",
        "guys",
        "both",
        "two",
        "later",
        "tomorrow",
        "soon",
        "tonight",
        "there",
        "here",
        "again",
        "back",
        "much",
        "lots",
        "lot",
        "so",
        "man",
        "bro",
        "dude",
        "sis",
        "mate",
        "chat",
        "everyone",
        "fam",
        "ok",
        "okay",
        "this",
        "that",
        "it",
        "them",
        "me",
        "us",
        "him",
        "her",
    ]
)
#: "you <x>" ending the message, where "you" opens it or follows a vocative cue
#: ("shut up you clown", "lol you noob"), not a question or object ("do you play").
_YOU_LAST = re.compile(
    rf"(?:^|[,.!?:;]\s*|\b(?:up|away|off|out|lol|lmao|haha|oh|hey|bye|cmon|pls)\s+)"
    rf"{_YOU}\s+(?:\w+\s+)?(\w+)\W*$"
)
_IMPERATIVE = re.compile(
    r"^\W*(?:(?:lol|lmao|ok|oh|hey|just|pls|please|bro|dude|now)\W+)?"
    r"(?:shut\s+(?:up|it|your)|stfu|gtfo|kys|go\s+(?:die|away|cry|home|back|to\s+hell|kill|jump|hang|rot|"
    r"touch\s+grass|fuck|screw)|get\s+(?:lost|out|rekt|cancer|a\s+life|fucked|bent)|kill\s+(?:yourself|urself)|"
    r"die|fuck\s+off|piss\s+off|screw\s+off|eat\s+shit|drink\s+bleach|uninstall|delete\s+(?:yourself|your)|"
    r"neck\s+yourself|hang\s+yourself|leave|quit|cry\s+(?:more|about\s+it)|nobody\s+(?:asked|likes|cares))\b"
)
_THIRD_PERSON = re.compile(
    r"\b(?:streamer|mods?|he|she|this\s+(?:guy|dude|girl|kid)|that\s+(?:guy|dude|girl|kid)|host|chatters?)"
    r"(?:'s|\s+(?:is|are|was|were|looks?|sounds?|smells?))\s+(?:a|an|so|such|just|literally|fucking|total|"
    r"complete|absolute|trash|garbage|ugly|stupid|dumb|useless|pathetic|braindead|worthless|disgusting)\b"
)
_GROUP = re.compile(
    r"\b(?:wom[ae]n|girls|females?|males?|men|gays?|lesbians?|bi(?:sexuals?)?|trans(?:gender)?|"
    r"tranny|trannies|queers?|lgbt\w*|homos?|fags?|faggots?|jews?|jewish|muslims?|islam\w*|moslems?|"
    r"christians?|catholics?|hindus?|sikhs?|buddhists?|atheists?|blacks?|whites?|asians?|arabs?|"
    r"mexicans?|latin[oa]s?|hispanics?|africans?|chinese|indians?|pakistanis?|immigrants?|migrants?|"
    r"refugees?|foreigners?|illegals|disabled|cripples?|retards?|autistic|autists?|elderly|boomers|"
    r"natives?|gypsies|(?:these|those|you|such|all|them|their)\s+people|minorities|"
    r"ethnic\w*|nationality|religion|n[i1]gg\w*)\b"
)


class Router:
    """``reason(normalized, cheap_score)``: why the sentence stage must read a text, or ``None``."""

    def __init__(self, low: float, terms: TermList | None = None) -> None:
        self.low = low
        self.terms = terms if terms is not None else TermList.default()

    def reason(self, normalized: str, cheap_score: float | None) -> str | None:
        if cheap_score is not None and cheap_score >= self.low:
            return "band"
        if self.terms.find(normalized):
            return "terms"
        if _GROUP.search(normalized):
            return "group"
        if _IMPERATIVE.search(normalized):
            return "imperative"
        if _SECOND_PERSON.search(normalized):
            return "second_person"
        if _THIRD_PERSON.search(normalized):
            return "third_person"
        last = _YOU_LAST.search(normalized)
        if last is not None and last.group(1) not in _HARMLESS_AFTER_YOU:
            return "second_person"  # "shut up you clown", "you absolute donkey"
        return None
