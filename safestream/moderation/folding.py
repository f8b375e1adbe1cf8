"""Step 1 of ``normalize``: per-code-point folding (NFKC, invisible characters, diacritics, case, look-alikes).

Every code point folds the same way wherever it appears, so the fold is a
``str.translate`` table filled on demand (``FOLD``); the later, context-aware
steps are in ``normalize``.
"""

from __future__ import annotations

import unicodedata

from safestream.moderation.confusables_data import LOOKALIKES

# --- step 1: per-code-point folding -------------------------------------------------
# Invisible characters that are not category Cf (those are dropped wholesale):
# Hangul fillers, the braille blank, Khmer inherent vowels, variation selectors.
_INVISIBLE: frozenset[str] = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180b\u180c\u180d"
    + "".join(map(chr, [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]))
)
# Combining-mark blocks used to decorate Latin text (accents, Zalgo, Cyrillic
# titlo). Marks of other scripts (Devanagari, Arabic...) live elsewhere and stay.
_DECORATIVE_MARKS: tuple[tuple[int, int], ...] = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
# Diacritics are stripped only when the base letter is below U+0530 (Latin,
# Greek, Cyrillic): "fück" -> "fuck" helps, stripping Hindi vowel signs would not.
_STRIP_MARKS_BELOW = 0x0530
# Greek, Cyrillic and Armenian keep their case in step 1: a capital Greek Eta
# looks like "H" but its lowercase looks like "n", so step 5 needs the case.
_SCRIPT_LO, _SCRIPT_HI = "\u0370", "\u058f"

# Latin-script look-alikes that NFKC leaves alone: small capitals, IPA letters,
# stroked letters, and the negative squared/circled letters (U+1F170, U+1F150).
_LATIN_LOOKALIKES: dict[int, int | str] = {
    **str.maketrans("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢɑɡɩıȷøđłħ", "abcdefghijklmnoprstuvwyzagiijodlh"),
    **{0x1F170 + i: chr(0x61 + i) for i in range(26)},
    **{0x1F150 + i: chr(0x61 + i) for i in range(26)},
}

# Entries beyond this many are computed on every call instead of cached, so a
# flood of distinct rare code points cannot grow the cache without bound.
_FOLD_CACHE_LIMIT = 20_000


def _fold_char(ch: str) -> str:
    """Fold one code point (pure function; memoised by ``_FoldTable``)."""
    cat = unicodedata.category(ch)
    cp = ord(ch)
    if cat in ("Cf", "Cs") or ch in _INVISIBLE or any(lo <= cp <= hi for lo, hi in _DECORATIVE_MARKS):
        return ""
    if ch.isspace():
        return " "
    if cat == "Cc":
        return ""
    out = unicodedata.normalize("NFKC", ch)
    out = "".join(c if _SCRIPT_LO <= c <= _SCRIPT_HI or ord(c) in LOOKALIKES else c.lower() for c in out)
    decomposed = unicodedata.normalize("NFKD", out)
    if decomposed and ord(decomposed[0]) < _STRIP_MARKS_BELOW:
        out = "".join(c for c in decomposed if not unicodedata.combining(c))
    out = out.translate(_LATIN_LOOKALIKES)
    # NFKC turns e.g. U+00A0 into a space; keep the "all whitespace is ' '" rule.
    return "".join(" " if c.isspace() else c for c in out)


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table filled on first sight of each code point.

    Precomputing all 1.1M code points would cost seconds at import; the memo
    is a deterministic cache of a pure function, so sharing it is safe.
    """

    def __missing__(self, cp: int) -> str:
        folded = _fold_char(chr(cp))
        if len(self) < _FOLD_CACHE_LIMIT:
            self[cp] = folded
        return folded


FOLD = _FoldTable()


def fold_chars(text: str) -> str:
    """Step 1 alone (per code point): for callers that need look-alikes folded but words intact."""
    return text.translate(FOLD)
