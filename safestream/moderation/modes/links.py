"""Link detection that sees through the usual disguises, in a bounded number of C-level passes.

A link is a scheme (``http://``, ``hxxp``, ``www.``) or a host: a label, a
dot, and a known top-level domain (or four numbers: an IP address). Before
looking, the text is folded to lowercase UTF-8 bytes: NFKC (fullwidth and
other compatibility letters become ASCII), other dot characters become ".",
invisible characters go, and ``dot``, ``(dot)``, ``[.]`` and spaced dots
become ".". Greek and Cyrillic letters that pass for Latin ones are matched
by a second pattern, only when the text has a non-ASCII character.

The patterns (``_TLD``, ``_LOOKALIKE_TLD``, ``_IP``) are built so they cannot
backtrack: each starts with a literal dot and looks one fixed-width step
back, then matches a trie of literal TLDs (no quantifier at all, a mismatch
fails at the first letter) or bounded ``{1,3}`` runs in sequence; no
quantifier is ever nested (``tests/test_modes_rules.py`` checks the compiled
structure). The work per message is bounded too: runs of dots are collapsed
first, and a message with more than ``MAX_DOTS`` dots counts as a link (no
chat line needs that many; otherwise a hostile 500-character input buys 250
trie look-ups).

A permitted domain matches the host as typed (lowercased, not folded), so a
look-alike spelling of a permitted domain is still a link.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.rule_io import Hit, Sender, objection

TLDS = frozenset(
    """
com net org io gg tv co me ly xyz info biz ru cn de uk us eu fr nl be to cc ws su pw tk ml ga cf gq
app dev link live site online shop store top club fun click win vip icu buzz monster bid loan gift
""".split()  # noqa: SIM905 - a readable word list
)
_WORD_DOTS = (b"(dot)", b"[dot]", b"{dot}", b"<dot>", b"(.)", b"[.]", b"{.}", b" dot ", b" d0t ", b" . ", b" .")
#: Characters that end a host in running text.
_SEPARATORS = " \t\n\r/\\,;!?\"'()[]{}<>|*`~^@#$%&=+"
_TO_SPACE = bytes.maketrans(_SEPARATORS.encode(), b" " * len(_SEPARATORS))
#: Dots NFKC leaves alone and invisible characters, as UTF-8 (each starts with one of ``_ODD_LEADS``).
_ODD = tuple(
    (s.encode(), d)
    for s, d in (*((c, b".") for c in "。․·•∙⋅‧"), *((z, b"") for z in "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
)
_ODD_LEADS = (b"\xe2", b"\xe3", b"\xef", b"\xc2")
#: Every byte but those leads: deleting them leaves the leads a text holds (one C pass, not four searches).
_NOT_LEADS = bytes(b for b in range(256) if bytes([b]) not in _ODD_LEADS)
#: The openers of the bracketed dots made spaces, so that one search for " ." finds " .", "(.", "[." and "{.".
_OPENERS = bytes.maketrans(b"([{", b"   ")
#: Greek and Cyrillic letters that pass for Latin ones (both cases: the fold lowercases ASCII only).
LOOKALIKES: dict[str, str] = {
    "a": "аαА",
    "b": "ВΒ",
    "c": "сϲС",
    "d": "ԁ",
    "e": "еєЕΕ",
    "h": "һНΗ",
    "i": "іιІΙ",
    "j": "јЈ",
    "k": "κКΚ",
    "m": "МΜм",
    "n": "Ν",
    "o": "оοОΟ",
    "p": "рρРΡ",
    "q": "ԛ",
    "s": "ѕЅ",
    "t": "τТΤ",
    "u": "υ",
    "v": "νѵ",
    "w": "ԝ",
    "x": "хХΧ",
    "y": "уУΥ",
    "z": "Ζ",
}
MAX_DOTS = 48
#: A message naming more permitted hosts than this is link spam whatever the hosts.
MAX_HOSTS = 8


def _trie(words: Iterable[str], letter: dict[str, str]) -> str:
    """An alternation of literal words grouped by first letter (a mismatch fails at the first letter)."""
    groups: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        groups.setdefault(word[0], []).append(word[1:])
    parts = []
    for first, rests in groups.items():
        tails = ["".join(letter.get(c, re.escape(c)) for c in r) for r in rests if r]
        tail = "(?:" + "|".join(tails) + ("|" if "" in rests else "") + ")" if tails else ""
        parts.append(letter.get(first, re.escape(first)) + tail)
    return "(?:" + "|".join(parts) + ")"


_HOST_CHAR = "[^" + re.escape(_SEPARATORS) + ".]"  # one character of a label, any script
_TLD = re.compile((r"\.(?<=" + _HOST_CHAR + r"\.)" + _trie(TLDS, {}) + r"(?![\w\x80-\xff-])").encode())
_LOOKALIKE_TLD = re.compile(
    r"\.(?<="
    + _HOST_CHAR
    + r"\.)"
    + _trie(TLDS, {c: f"[{c}{alike}]" for c, alike in LOOKALIKES.items()})
    + r"(?![\w-])"
)
_IP = re.compile(rb"\.(?<=\d\.)\d{1,3}\.\d{1,3}\.\d{1,3}(?!\d)")
PATTERNS = (_TLD, _LOOKALIKE_TLD, _IP)


#: What a message needs (lowercased) for its fold to hold a dot or a scheme: a dot, a spelled-out dot,
#: or the start of a scheme ("www." has a dot). Anything else cannot be a link.
_LINK_TOKENS = (".", "dot", "d0t", "http", "hxxp", "h**p")


def may_hold_link(text: str) -> bool:
    """False only for text whose fold has neither a dot nor a scheme (so ``find_hosts`` would find nothing).

    Most chat lines answer here, with a few C-level ``in`` tests and no fold:
    ASCII text folds to itself lowercased plus word dots, so the tokens decide;
    text that NFKC leaves alone folds the same way except for the odd dots and
    invisible characters (``_ODD``, each behind one of ``_ODD_LEADS`` in UTF-8),
    so those send it to the full fold; text NFKC changes (fullwidth letters,
    compatibility dots) always takes the full fold.
    """
    if "." in text or not unicodedata.is_normalized("NFKC", text):  # NFKC's quick check: C speed
        return True
    lowered = text.lower()  # str.lower maps at least every ASCII letter bytes.lower does
    if any(token in lowered for token in _LINK_TOKENS):
        return True
    return not text.isascii() and bool(text.encode("utf-8", "surrogatepass").translate(None, _NOT_LEADS))


def fold(text: str) -> bytes:
    """Lowercase UTF-8 with compatibility letters made ASCII and every disguised dot turned into '.'."""
    if text.isascii():  # the common case: nothing to fold
        out = text.encode().lower()
    else:
        normal = unicodedata.normalize("NFKC", text)
        try:
            out = normal.encode().lower()  # the strict codec is the fast one
        except UnicodeEncodeError:  # a lone surrogate (clean_message drops them; other callers may not)
            out = normal.encode("utf-8", "surrogatepass").lower()
        if not normal.isascii() and out.translate(None, _NOT_LEADS):  # fullwidth text is ASCII by now
            for src, dst in _ODD:
                if src in out:
                    out = out.replace(src, dst)
    if b"dot" in out or b"d0t" in out or b" ." in out.translate(_OPENERS):  # any of ``_WORD_DOTS``
        for word in _WORD_DOTS:
            if word in out:
                out = out.replace(word, b".")
    if b".." not in out:
        return out
    while b"..." in out:  # runs of dots are empty labels: collapse them (each pass divides a run by 3)
        out = out.replace(b"...", b".")
    return out.replace(b"..", b".")


def find_hosts(text: str, permitted: tuple[str, ...] = (), *, first: bool = False) -> list[str]:
    """Hosts (as folded; for IP addresses the last three numbers) that are not permitted, plus ""
    for a bare scheme and "(many dots)" past ``MAX_DOTS``.

    A permitted domain only counts when the host appears as typed (lowercased,
    not folded): a look-alike or spelled-out version of it is still a link.
    ``first`` stops at the first one (the rule needs no more).
    """
    if not may_hold_link(text):
        return []
    folded = fold(text)
    found: list[str] = []
    # A disguised scheme is always a link; a plain one, with permitted domains, is judged by its host.
    if _has_scheme(folded, plain=not permitted):
        found.append("")
        if first:
            return found
    dots = folded.count(b".")
    if dots > MAX_DOTS:
        return [*found, "(many dots)"]
    if dots:
        hosts = _hosts(folded, look_first=first)
        if permitted:
            raw = text.encode("utf-8", "surrogatepass").lower()  # as typed: look-alikes stay themselves
            hosts = (
                h for i, h in enumerate(hosts) if i >= MAX_HOSTS or not (h.encode() in raw and _permitted(h, permitted))
            )
        for host in hosts:
            if host in found:  # the look-alike pattern also matches plain ASCII TLDs
                continue
            found.append(host)
            if first:
                break
    return found


def _has_scheme(folded: bytes, *, plain: bool) -> bool:
    """A disguised scheme (``hxxp``, ``h**p``), or with ``plain`` also ``http:``, ``https:`` or ``www.``."""
    if b"hxxp" in folded or b"h**p" in folded:
        return True
    return plain and (b"http:" in folded or b"https:" in folded or b"www." in folded)


def _hosts(folded: bytes, *, look_first: bool = False) -> Iterator[str]:
    """Every host the patterns find, lazily (the rule takes one), each as the token around the match.

    ``look_first``: only whether a host qualifies matters (``first``), and that
    does not depend on the order (a host qualifies if it is not permitted, or
    if more than ``MAX_HOSTS`` were found in all). Text that is not ASCII then
    runs the look-alike pattern before ``_TLD``: it matches wherever ``_TLD``
    does (its letters include the ASCII ones, its lookahead is the looser one),
    so a link is usually found without scanning the text twice.
    """
    spaced = folded.translate(_TO_SPACE)
    ascii_only = folded.isascii()
    if not (look_first and not ascii_only):
        for m in _TLD.finditer(folded):
            yield _token(spaced, m.start(), m.end())
    if not ascii_only:
        text = folded.decode("utf-8", "replace")
        for look in _LOOKALIKE_TLD.finditer(text):  # str matches: offsets are characters, not bytes
            yield _token(spaced, len(text[: look.start()].encode()), len(text[: look.end()].encode()))
    for m in _IP.finditer(folded):
        yield _token(spaced, m.start(), m.end())
    if look_first and not ascii_only:
        for m in _TLD.finditer(folded):
            yield _token(spaced, m.start(), m.end())


def _token(spaced: bytes, start: int, end: int) -> str:
    """The host around a match: back to the last separator, without a leading ``www.``."""
    begin = spaced.rfind(b" ", 0, start) + 1
    return spaced[begin:end].strip(b".:-_").removeprefix(b"www.").decode("utf-8", "replace")


def _permitted(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def check_links(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.links
    if rule.action == "off" or sender.privileged:
        return None
    if not find_hosts(text, rule.permitted_domains, first=True):
        return None
    return objection("links", rule.action, "links_not_allowed", "links are not allowed in this chat", text, _mask_links)


def _mask_links(text: str) -> str:
    """Masking a link hides every word of the message that carries a dot or a scheme."""
    words = text.split(" ")
    return " ".join("[link]" if find_hosts(w) else w for w in words)
