"""Self-censored swear words ("f**k", "sh*t", "a**hole") read as the word they hide.

Why: chat masks letters with ``*`` to slip past word lists while every reader
still sees the word, and neither the term list nor the sentence encoder can
read "f**k off" (the encoder scored it 0.04). A word of letters and ``*`` is
replaced by the first word below with the same length and the same visible
letters; the replacement keeps the length, so the position map for masking is
one to one (``normalize._align``).

Only words that start with a letter and hold no other symbol count, so
"**bold**", "*sigh*", "2*3" and "a*b" are left alone. The list is in priority
order for masks that fit several words ("s**t": shit before slut); "fag" is
not in it, so "f** off" is not read as a slur.
"""

from __future__ import annotations

import re

MASKABLE: tuple[str, ...] = (
    "fuck",
    "fucking",
    "fucker",
    "fucked",
    "fucks",
    "motherfucker",
    "shit",
    "shitty",
    "bullshit",
    "bitch",
    "bitches",
    "cunt",
    "asshole",
    "ass",
    "pussy",
    "whore",
    "slut",
    "bastard",
    "twat",
    "wanker",
    "dick",
    "cock",
    "damn",
    "crap",
    "piss",
    "faggot",
    "nigger",
    "nigga",
    "retard",
    "retarded",
)
_BY_LENGTH: dict[int, tuple[str, ...]] = {
    n: tuple(w for w in MASKABLE if len(w) == n) for n in sorted({len(w) for w in MASKABLE})
}

#: A word of ASCII letters and at least one "*", starting with a letter.
MASKED = re.compile(r"(?<![\w*])[a-z][a-z*]*\*[a-z*]*(?![\w*])")


def unmask_repl(m: re.Match[str]) -> str:
    token = m.group()
    for word in _BY_LENGTH.get(len(token), ()):
        if all(c == "*" or c == w for c, w in zip(token, word, strict=True)):
            return word
    return token
