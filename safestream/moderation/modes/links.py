"""Link detection that sees through the usual disguises, without regular expressions.

A link is a scheme (``http://``, ``hxxp``, ``www.``) or a host: labels joined
by dots whose last label is a known top-level domain (or four numbers: an IP
address). Before looking, the text is folded: look-alike characters become
ASCII (NFKC, then the Greek and Cyrillic letters that pass for Latin ones),
other dot characters become ".", and ``dot``, ``(dot)``, ``[.]`` and spaced dots become
".". Everything is ``str.translate``/``replace``/``split``: linear in the
message length.

A permitted domain matches the host as typed (lowercased, not folded), so a
look-alike spelling of a permitted domain is still a link.
"""

from __future__ import annotations

import unicodedata

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.rule_io import Hit, Sender

TLDS = frozenset("""
com net org io gg tv co me ly xyz info biz ru cn de uk us eu fr nl be to cc ws su pw tk ml ga cf gq
app dev link live site online shop store top club fun click win vip icu buzz monster bid loan gift
""".split())  # noqa: SIM905 - a readable word list
SCHEMES = ("http:", "https:", "hxxp", "h**p", "www.")
DISGUISED_SCHEMES = ("hxxp", "h**p")
_WORD_DOTS = ("(dot)", "[dot]", "{dot}", "<dot>", "(.)", "[.]", "{.}", " dot ", " d0t ", " . ", " .")
#: Characters that end a host in running text.
_SPLIT = str.maketrans(dict.fromkeys("/\\,;!?\"'()[]{}<>|*`~^@#$%&=+", " "))
#: For non-ASCII text after NFKC: dots NFKC leaves alone, invisible characters, and Greek and
#: Cyrillic letters that pass for Latin ones. Applied with ``in``/``replace`` (C-speed scans)
#: rather than a per-character table.
_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    *((d, ".") for d in "。｡․·•∙⋅‧﹒"),
    *((z, "") for z in "\u200b\u200c\u200d\u2060\ufeff\u00ad"),
    *zip("аеорсухіјѕԁһԛԝοαντιρκυєѵ", "aeopcyxijsdhqwoavtipkuev", strict=True),
)


def fold(text: str) -> str:
    """Lowercase ASCII-ish text with every disguised dot turned into '.'."""
    if text.isascii():  # the common case: nothing to fold
        out = text.lower()
    else:
        out = unicodedata.normalize("NFKC", text).lower()
        for src, dst in _REPLACEMENTS:
            if src in out:
                out = out.replace(src, dst)
    if "dot" in out or "d0t" in out or " ." in out or "(." in out or "[." in out or "{." in out:
        for word in _WORD_DOTS:
            out = out.replace(word, ".")
    return out


def find_hosts(text: str, permitted: tuple[str, ...] = (), *, first: bool = False) -> list[str]:
    """Host-like tokens (as folded) that are not permitted, plus "" for a bare scheme.

    A permitted domain only counts when the host appears as typed (lowercased,
    not folded): a look-alike or spelled-out version of it is still a link.
    ``first`` stops at the first one (the rule needs no more).
    """
    folded = fold(text)
    found: list[str] = []
    # A disguised scheme is always a link; a plain one, with permitted domains, is judged by its host.
    if any(s in folded for s in (SCHEMES if not permitted else DISGUISED_SCHEMES)):
        found.append("")
        if first:
            return found
    if "." not in folded:
        return found
    raw = text.lower() if permitted else ""
    for token in folded.translate(_SPLIT).split():
        if "." not in token:
            continue
        host = token.strip(".:-_").partition(":")[0]
        if host.rpartition(".")[2] not in TLDS and not host.replace(".", "").isdigit():
            continue
        host = host.removeprefix("www.")
        if not _is_host(host) or (permitted and host in raw and _permitted(host, permitted)):
            continue
        found.append(host)
        if first:
            return found
    return found


def _is_host(host: str) -> bool:
    labels = host.split(".")
    if len(labels) < 2 or not all(labels):
        return False
    if len(labels) == 4 and all(label.isdigit() and len(label) <= 3 for label in labels):
        return True
    return labels[-1] in TLDS and all(label.replace("-", "").isalnum() for label in labels)


def _permitted(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def check_links(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.links
    if rule.action == "off" or sender.privileged:
        return None
    if not find_hosts(text, rule.permitted_domains, first=True):
        return None
    return Hit("links", rule.action, "links_not_allowed", "links are not allowed in this chat",
               shown=_mask_links(text) if rule.action == "mask" else "")


def _mask_links(text: str) -> str:
    """Masking a link hides every word of the message that carries a dot or a scheme."""
    words = text.split(" ")
    return " ".join("[link]" if find_hosts(w) else w for w in words)
