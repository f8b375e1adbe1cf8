"""Link detection that sees through the usual disguises, without regular expressions.

A link is a scheme (``http://``, ``hxxp``, ``www.``) or a host: labels joined
by dots whose last label is a known top-level domain (or four numbers: an IP
address). Before looking, the text is folded: look-alike characters become
ASCII (the moderation normalizer's per-character table), other dot
characters become ".", and ``dot``, ``(dot)``, ``[.]`` and spaced dots become
".". Everything is ``str.translate``/``replace``/``split``: linear in the
message length.

A permitted domain matches the host as typed (lowercased, not folded), so a
look-alike spelling of a permitted domain is still a link.
"""

from __future__ import annotations

from safestream.moderation.modes.config import ChatModes
from safestream.moderation.modes.contract import Hit, Sender
from safestream.moderation.normalize import fold_chars

TLDS = frozenset(["com", "net", "org", "io", "gg", "tv", "co", "me", "ly", "xyz", "info", "biz", "ru", "cn", "de", "uk", "us", "eu", "fr", "nl", "be", "to", "cc", "ws", "su", "pw", "tk", "ml", "ga", "cf", "gq", "app", "dev", "link", "live", "site", "online", "shop", "store", "top", "club", "fun", "click", "win", "vip", "icu", "buzz", "monster", "bid", "loan", "gift"])
SCHEMES = ("http:", "https:", "hxxp", "hxxps", "h**p", "www.")
#: Dot look-alikes that NFKC folding leaves alone.
_DOTS = str.maketrans({"。": ".", "｡": ".", "․": ".", "·": ".", "•": ".", "∙": ".", "⋅": ".", "‧": ".",
                       "﹒": "."})
_WORD_DOTS = ("(dot)", "[dot]", "{dot}", "<dot>", "(.)", "[.]", "{.}", " dot ", " d0t ", " . ", " .")
#: Greek and Cyrillic letters that pass for Latin ones (folding keeps those scripts as they are).
_SCRIPT_LOOKALIKES = str.maketrans("аеорсухіјѕԁһԛԝοαντιρκυєѵ", "aeopcyxijsdhqwoavtipkuev")
#: Characters that end a host in running text.
_SPLIT = str.maketrans({c: " " for c in "/\\,;!?\"'()[]{}<>|*`~^@#$%&=+"})


def fold(text: str) -> str:
    """Lowercase ASCII-ish text with every disguised dot turned into '.'."""
    if text.isascii():  # the common case: nothing to fold
        out = text.lower()
    else:
        out = fold_chars(text).lower().translate(_SCRIPT_LOOKALIKES).translate(_DOTS)
    if "dot" in out or "d0t" in out or " ." in out or "(." in out or "[." in out or "{." in out:
        for word in _WORD_DOTS:
            out = out.replace(word, ".")
    return out


def find_hosts(text: str) -> list[str]:
    """Every host-like token (as folded) in the text, plus "" for a bare scheme."""
    folded = fold(text)
    found: list[str] = []
    if any(s in folded for s in SCHEMES):
        found.append("")
    if "." not in folded:
        return found
    for token in folded.translate(_SPLIT).split():
        if "." in token:
            host = token.strip(".:-_")
            host = host.removeprefix("www.")
            if _is_host(host):
                found.append(host.partition(":")[0])
    return found


def _is_host(token: str) -> bool:
    labels = token.partition(":")[0].split(".")
    if len(labels) < 2 or not all(labels):
        return False
    if len(labels) == 4 and all(label.isdigit() and len(label) <= 3 for label in labels):
        return True
    return labels[-1] in TLDS and all(label.replace("-", "").isalnum() for label in labels)


def _raw_hosts(text: str) -> set[str]:
    """Host-like tokens as typed (lowercased only): what a permitted domain must match exactly."""
    out = set()
    for token in text.lower().translate(_SPLIT).split():
        host = token.strip(".:-_")
        host = host.removeprefix("www.")
        out.add(host.partition(":")[0])
    return out


def _permitted(host: str, raw: set[str], domains: tuple[str, ...]) -> bool:
    if not host or host not in raw:  # a bare scheme, or a host only visible once folded (a disguise)
        return False
    return any(host == d or host.endswith("." + d) for d in domains)


def check_links(text: str, modes: ChatModes, sender: Sender) -> Hit | None:
    rule = modes.links
    if rule.action == "off" or sender.privileged:
        return None
    hosts = find_hosts(text)
    if not hosts:
        return None
    if rule.permitted_domains:
        raw = _raw_hosts(text)
        hosts = [h for h in hosts if h and not _permitted(h, raw, rule.permitted_domains)]
        if not hosts and not any(s in text.lower() for s in ("hxxp", "h**p")):
            return None
    return Hit("links", rule.action, "links_not_allowed", "links are not allowed in this chat",
               shown=_mask_links(text) if rule.action == "mask" else "")


def _mask_links(text: str) -> str:
    """Masking a link hides every word of the message that carries a dot or a scheme."""
    words = text.split(" ")
    return " ".join("[link]" if find_hosts(w) else w for w in words)
