"""What a username may be: one definition for registration, the CLI and lookups.

Every check matches the whole string (``fullmatch``): with ``re.match`` and
``$``, ``"chat_viewer\\n"`` passes, because ``$`` also matches before a final
newline, and renders exactly like the real ``chat_viewer``. Names are never
rewritten (stripped, lowered) to make them fit: a name is valid as sent or
refused, so the account a moderator acts on is the one whose name was shown.

Uniqueness ignores case (``Demo_Admin`` next to ``demo_admin`` reads as the
same person); the database enforces it too (a unique index on
``lower(username)``, migration 0003). New names must also differ from every
existing one in more than separators and look-alike characters
(``name_key``, stored per user).
"""

from __future__ import annotations

import re

from safestream.errors import InvalidPayload

USERNAME_CHARS = r"[A-Za-z0-9._-]{1,50}"
USERNAME_RE = re.compile(USERNAME_CHARS)

#: Names that read as the service or its staff. A name is reserved when its
#: skeleton (lower case, separators and trailing digits dropped, common digit
#: look-alikes undone) is one of these...
RESERVED_EXACT = frozenset(
    {
        "admin",
        "administrator",
        "root",
        "bot",
        "system",
        "server",
        "automod",
        "mod",
        "moderator",
        "moderation",
        "staff",
        "support",
        "official",
        "safestream",
        "anonymous",
        "everyone",
        "here",
        "null",
        "undefined",
        "none",
        "owner",
        "sysop",
        "host",
        "streamer",
        "console",
    }
)
#: ...or contains one of these (``real_admin``, ``site-moderator``, ``automod2``).
RESERVED_PARTS = ("admin", "moderator", "automod", "safestream", "sysop")
_LOOKALIKE_DIGITS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s"})


def skeleton(name: str) -> str:
    """The name as a reader takes it in: ``Adm1n_`` -> ``admin``, ``System-2`` -> ``system``."""
    core = re.sub(r"[._-]+", "", name.lower()).rstrip("0123456789")
    return core.translate(_LOOKALIKE_DIGITS)


_CONFUSABLE = str.maketrans({"1": "l", "i": "l", "|": "l", "0": "o"})


def name_key(name: str) -> str:
    """What two names share when a reader could take one for the other: letter case,
    separators and the look-alikes of ASCII fonts (``1/i/l``, ``0/o``, ``rn/m``, ``vv/w``)
    are dropped, so ``Demo.User``, ``demouser`` and ``dem0_user`` all key ``demouser``.
    Registration refuses a name whose key an account already has."""
    core = re.sub(r"[._-]+", "", name.lower()).translate(_CONFUSABLE)
    return core.replace("rn", "m").replace("vv", "w")


def is_reserved(name: str) -> bool:
    core = skeleton(name)
    return core in RESERVED_EXACT or any(part in core for part in RESERVED_PARTS)


def is_valid_username(value: object, *, max_length: int = 50) -> bool:
    return isinstance(value, str) and len(value) <= max_length and USERNAME_RE.fullmatch(value) is not None


def check_username(value: object, *, max_length: int = 50) -> str:
    """The name unchanged, or ``InvalidPayload`` naming the field."""
    if not isinstance(value, str) or not is_valid_username(value, max_length=max_length):
        raise InvalidPayload(
            "the request body is invalid",
            fields=[
                {
                    "field": "username",
                    "message": f"1 to {max_length} letters, digits, '.', '_' or '-' (nothing else, no spaces)",
                }
            ],
        )
    return value


def words_of(name: str) -> str:
    """The name as text for the moderation chain: separators become spaces."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)  # camelCase -> camel Case
    return re.sub(r"[._-]+", " ", spaced).strip()
