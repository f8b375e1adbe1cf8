r"""Undo common chat obfuscation so classifiers and term lists see plain words.

``normalize`` turns "Ｓ.Һ.1.Т", "f\u200bu\u200bck" or "fuuuuck" into "shit", "fuck"
and "fuck". Its output is for *scoring only*: viewers always see the original
text, and ``normalize_with_map`` exists so a match found in normalized text can
be masked in the original.

The pipeline, in order (each step documents its own rule below):

1. fold       per code point: NFKC, drop invisible characters, strip Latin,
              Greek and Cyrillic diacritics, lowercase, Latin look-alikes.
2. spaces     every whitespace run becomes one space; ends are trimmed.
3. join       runs of single characters split by separators are joined.
4. leet       digits and symbols become letters inside words only.
5. scripts    look-alikes of Latin letters from other scripts (the Unicode
              confusables set, UTS #39: Cyrillic, Greek, Armenian, Lisu,
              Cherokee...) become Latin, but only in words that mix in Latin
              or consist of look-alikes alone, so real Russian or Greek words
              are left readable.
6. unmask     self-censored swear words ("f**k") become the word (``unmask``).
7. repeats    runs of 3+ identical letters become one letter.

Order matters: joining before leet ("$ h 1 t"); leet before scripts, because
leet can add the Latin letter that marks a word as mixed ("$һit"); and both
before repeats ("sh111t").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from safestream.moderation.confusables_data import LOOKALIKES
from safestream.moderation.folding import FOLD
from safestream.moderation.unmask import MASKED, unmask_repl

# --- step 2: whitespace -------------------------------------------------------------
_SPACES = re.compile(r"^ +| +$| {2,}")


def _space_repl(m: re.Match[str]) -> str:
    # Mirrors " ".join(s.split()), the fast path used by normalize().
    return "" if m.start() == 0 or m.end() == len(m.string) else " "


# --- step 3: joining spaced-out letters ---------------------------------------------
# A "unit" is one letter, digit or leet symbol. A run is joined when its units
# are all single (each next to a separator or the run's end) and there are at
# least 3 of them with punctuation separators (f.u.c.k, f-u-c-k, f_u_c_k,
# f*u*c*k, mixed too) or at least 4 with spaces ("f u c k"): 3-letter spaced
# runs are common in prose and texting ("u r a", "a b c"), 4+ rarely are. A
# wrong join ("i m a b c" -> "imabc") costs little: TF-IDF ignores 1-letter tokens.
_UNIT = r"(?:[^\W_]|[@$!|€])"
_SEPARATORS = r"[.\-_*+~/\\,:;^=#]"
_JOIN = re.compile(rf"(?<!{_UNIT}){_UNIT}(?:(?:{_SEPARATORS}{_UNIT}(?!{_UNIT})){{2,}}|(?: {_UNIT}(?!{_UNIT})){{3,}})")


def _join_repl(m: re.Match[str]) -> str:
    run = m.group()
    units = run[::2]  # units and separators alternate, one character each
    letters = sum(c.isalpha() for c in units)
    # "1 2 3 4" or "4:3:0" are numbers, not words: need >= 2 letters, half of all.
    if letters < 2 or 2 * letters < len(units):
        return run
    return units


# --- step 4: leetspeak --------------------------------------------------------------
_LEET: dict[int, int] = str.maketrans("0134578@$!|€", "oieastbasile")
# Tokens (letters, digits, leet symbols) that contain at least one leet character.
_LEET_TOKEN = re.compile(r"(?<![\w@$!|€])(?=[\w@$!|€]*[0134578@$!|€])[\w@$!|€]+")
_LEET_RUN = re.compile(r"[0-9@$!|€]+")
# "1st", "10am", "90s", "4k", "1080p", "3x3", "$5k": numbers with units stay.
_NUMBER_WITH_UNIT = re.compile(
    r"[$€]?\d+(?:st|nd|rd|th|s|k|m|b|bn|x|d|p|g|h|am|pm|v|w|hr|hrs|min|mins|sec|secs|ms"
    r"|fps|hz|khz|mhz|ghz|kb|mb|gb|tb|mm|cm|km|kg|lb|lbs|oz|ft|yo|yr|yrs|ish|mph|kmh)\d*"
)
_NON_LEET_DIGIT = re.compile(r"[269]")
_LEET_DIGIT_NOT_1 = re.compile(r"[034578]")


def _leet_repl(m: re.Match[str]) -> str:
    token = m.group()
    if _NUMBER_WITH_UNIT.fullmatch(token):
        return token

    def convert(run_match: re.Match[str]) -> str:
        run = run_match.group()
        a, b = run_match.span()
        before = a > 0 and token[a - 1].isalpha()
        after = b < len(token) and token[b].isalpha()
        # A run converts only when it touches a letter ("100", "4:30" never do)
        # and holds no 2/6/9 ("covid19" is a number). "!", "|" and "€" must sit
        # between letters ("what!" and "5€" are punctuation and prices), unless
        # the run also holds a leet digit other than 1: "$h!7" ends in "it",
        # while "wow!!1" is punctuation.
        if not (before or after) or _NON_LEET_DIGIT.search(run):
            return run
        if not (before and after) and any(c in "!|€" for c in run) and not _LEET_DIGIT_NOT_1.search(run):
            return run
        return run.translate(_LEET)

    return _LEET_RUN.sub(convert, token)


# --- step 5: look-alikes from other scripts ----------------------------------------
# The generated UTS #39 table (tools/gen_confusables.py), then our own choices
# on top where a letter reads differently in chat than its prototype says.
_HAND_CONFUSABLES: dict[int, int] = str.maketrans(
    # Cyrillic capitals and lowercase, then Greek, then Armenian.
    "АВЕКМНОРСТУХІЈЅҺӀҮавгекмнорстухьіјѕһԁԛԝӏүѵΑΒΕΖΗΙΚΜΝΟΡΤΥΧαβγεηικνορτυχϲϳօսհո",
    "abekmhopctyxijshlyabrekmhopctyxbijshdqwlyvabezhikmnoptyxabyenikvoptuxcjouhn",
)
_CONFUSABLES: dict[int, int] = {**LOOKALIKES, **_HAND_CONFUSABLES}
_ASCII_LETTER = re.compile(r"[a-z]")
_LOOKALIKE_CLASS = "".join(re.escape(chr(cp)) for cp in sorted(_CONFUSABLES) if cp > 0x7F)
# A letter run containing at least one Greek/Cyrillic/Armenian character or
# other look-alike; the lookbehind anchors matches at word starts so long words
# scan in linear time.
_SCRIPT_WORD = re.compile(rf"(?<![^\W\d_])[^\W\d_]*[\u0370-\u058f{_LOOKALIKE_CLASS}][^\W\d_]*")


def _script_repl(m: re.Match[str]) -> str:
    word = m.group()
    mapped = word.translate(_CONFUSABLES)
    # Convert mixed words ("fuсk") and words made only of look-alikes ("аѕѕ");
    # leave real Russian/Greek words alone (only lowercase them).
    if mapped.isascii() or _ASCII_LETTER.search(word):
        return mapped.lower()
    return word.lower()


# --- step 6: repeated letters -------------------------------------------------------
# 3+ identical letters -> one ("fuuuck" -> "fuck", "sooo" -> "so"); doubles stay
# ("cool", "good", "ass"). Digits are not letters, so "1000" is untouched.
_REPEAT = re.compile(r"([^\W\d_])\1{2,}")


def _repeat_repl(m: re.Match[str]) -> str:
    return m.group(1)


_Step = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_STEPS_AFTER_SPACES: tuple[_Step, ...] = (
    (_JOIN, _join_repl),
    (_LEET_TOKEN, _leet_repl),
    (_SCRIPT_WORD, _script_repl),
    (MASKED, unmask_repl),
    (_REPEAT, _repeat_repl),
)


# --- fast paths ---------------------------------------------------------------------
# Most chat lines are plain ASCII with nothing to undo, so normalize() skips a
# step whenever a cheap scan proves its pattern cannot match (the result is
# the same; tests compare with the steps run unconditionally):
# * fold: printable ASCII folds to its lowercase (checked here, at import);
# * join: a run needs unit, separator, unit, separator, unit at least;
# * leet: a leet token needs one of its characters;
# * repeats: in ASCII text a letter is [A-Za-z], a cheaper class than [^\W\d_].
_ASCII_FOLD_IS_LOWER = all(FOLD[cp] == chr(cp).lower() for cp in range(0x20, 0x7F))
_JOIN_HINT = re.compile(rf"{_UNIT}[{_SEPARATORS[1:-1]} ]{_UNIT}[{_SEPARATORS[1:-1]} ]{_UNIT}")
_LEET_HINT = re.compile(r"[0134578@$!|€]")
_REPEAT_ASCII = re.compile(r"([A-Za-z])\1{2,}")


#: Texts up to this long are memoised (4,096 of them: at most a few MB).
MEMO_MAX_CHARS = 512


def normalize(text: str) -> str:
    """Return the scoring form of ``text``. Never show the result to users.

    A pure function, memoised for chat-sized texts: chat repeats itself ("gg",
    emote spam, copy-paste floods), and the engine, the router and each
    stream's policy all start from the normalized text.
    """
    return _memo(text) if len(text) <= MEMO_MAX_CHARS else _normalize(text)


def _normalize(text: str) -> str:
    if _ASCII_FOLD_IS_LOWER and text.isascii() and text.isprintable():
        text = " ".join(text.lower().split())
    else:
        text = " ".join(text.translate(FOLD).split())
    if _JOIN_HINT.search(text):
        text = _JOIN.sub(_join_repl, text)
    if _LEET_HINT.search(text):
        text = _LEET_TOKEN.sub(_leet_repl, text)
    ascii_only = text.isascii()
    if not ascii_only:  # only non-ASCII text can hold Greek/Cyrillic letters
        text = _SCRIPT_WORD.sub(_script_repl, text)
    if "*" in text:  # every masked word holds one
        text = MASKED.sub(unmask_repl, text)
    if ascii_only and not _REPEAT_ASCII.search(text):
        return text
    return _REPEAT.sub(_repeat_repl, text)


_memo = functools.lru_cache(maxsize=4096)(_normalize)


# --- position map (for masking) -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Normalized text plus, per character, the original span it came from."""

    text: str
    starts: list[int]
    ends: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` span behind normalized ``[start, end)``."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad span {start}:{end} for length {len(self.text)}")
        return self.starts[start], self.ends[end - 1]


def _align(src: str, new: str, starts: list[int], ends: list[int], out_starts: list[int], out_ends: list[int]) -> None:
    """Give each character of ``new`` (a replacement of ``src``) an original span.

    Same length: one to one. Shorter (joins, repeats, spaces): ``new`` is a
    subsequence of ``src``; each kept character also takes over the dropped
    characters after it, so "f.u.c.k" -> "fuck" maps "k" back to the end and a
    collapsed "uuu" maps back to the whole run.
    """
    if not new:
        return
    if len(new) == len(src):
        out_starts.extend(starts)
        out_ends.extend(ends)
        return
    kept: list[int] = []
    j = 0
    for ch in new:
        j = src.find(ch, j)
        if j < 0:  # not a subsequence: every char maps to the whole span
            out_starts.extend([starts[0]] * len(new))
            out_ends.extend([ends[-1]] * len(new))
            return
        kept.append(j)
        j += 1
    bounds = [0, *kept[1:], len(src)]
    out_starts.extend(starts[a] for a in bounds[:-1])
    out_ends.extend(ends[b - 1] for b in bounds[1:])


def _sub_mapped(step: _Step, text: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    """``pattern.sub(repl, text)`` that also carries the position map along."""
    pattern, repl = step
    parts: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        a, b = m.span()
        parts += (text[pos:a], repl(m))
        new_starts += starts[pos:a]
        new_ends += ends[pos:a]
        _align(text[a:b], parts[-1], starts[a:b], ends[a:b], new_starts, new_ends)
        pos = b
    parts.append(text[pos:])
    return "".join(parts), new_starts + starts[pos:], new_ends + ends[pos:]


def normalize_with_map(text: str) -> NormalizedText:
    """``normalize(text)`` plus a map back to ``text`` (slower; for masking).

    The steps are the same pattern/replacement pairs as ``normalize`` uses, so
    the two always agree on the text (a test checks this on random input).
    """
    folded = [FOLD[ord(ch)] for ch in text]
    starts = [i for i, part in enumerate(folded) for _ in part]
    ends = [i + 1 for i in starts]
    out, starts, ends = _sub_mapped((_SPACES, _space_repl), "".join(folded), starts, ends)
    for step in _STEPS_AFTER_SPACES:
        out, starts, ends = _sub_mapped(step, out, starts, ends)
    return NormalizedText(out, starts, ends)
