"""What every rule sees and what it answers.

A rule is a function of (text, sender, modes) that returns ``None`` (no
objection) or a ``Hit``. Rules never raise and never await: they run on the
event loop for every message, before it is queued, so each must be cheap
(``load/bench_rules.py`` holds them to <= 10 us) and must not run a regular
expression that can backtrack; they use ``str`` methods and plain loops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Sender:
    username: str
    #: The stream's owner, a moderator of it, or staff: modes never apply to them.
    privileged: bool = False
    #: Seconds since the account was created (None: unknown, treated as brand new).
    account_age_secs: float | None = None
    email_verified: bool = False


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule's objection: ``action`` is one of ``config.RULE_ACTIONS`` (never "off")."""

    rule: str
    action: str
    code: str
    message: str
    #: For ``mask``: the text viewers see instead (empty: the rule has no mask of its own).
    shown: str = ""


@lru_cache(maxsize=256)
def verdict(rule: str, action: str, code: str, message: str) -> Hit:
    """A hit with no mask text of its own, built once per distinct verdict: the send path makes one
    for every message a rule catches, and a frozen dataclass costs about a microsecond to build."""
    return Hit(rule, action, code, message)


def objection(rule: str, action: str, code: str, message: str, text: str, mask: Callable[[str], str]) -> Hit:
    """A rule's hit on ``text``: the shared verdict, or for ``mask`` one with the text viewers see
    (``mask(text)``, computed only then: it runs only for a message the rule caught)."""
    if action != "mask":
        return verdict(rule, action, code, message)
    return Hit(rule, action, code, message, shown=mask(text))
