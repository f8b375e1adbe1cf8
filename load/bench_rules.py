"""Per-rule cost on the send path: microseconds per message for each chat-mode rule.

Each rule runs exactly as ``ModeChecker`` calls it, switched on with its
default thresholds, over two sets of messages: a realistic chat mix (short
lines, some links, mentions, emoji, shouting) and hostile input built to make
a naive implementation slow (500 characters of dots, '@'s, "dot dot dot",
thousands of distinct code points, long runs, mixed scripts). The target is
<= 10 us per message per rule; the hostile rows also show the cost stays
linear in the message length (no backtracking anywhere: the rules use no
regular expressions at all).

    python load/bench_rules.py            # ~10 s
    python load/bench_rules.py --json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safestream.moderation.modes.checker import ModeChecker
from safestream.moderation.modes.config import (
    Caps,
    ChatModes,
    Links,
    Mentions,
    Repeats,
    UniqueChat,
)
from safestream.moderation.modes.emotes import check_emote_only
from safestream.moderation.modes.gates import check_gates
from safestream.moderation.modes.links import check_links
from safestream.moderation.modes.mentions import check_mentions
from safestream.moderation.modes.rule_io import Sender
from safestream.moderation.modes.shouting import check_caps, check_repeats

MODES = ChatModes(unique=UniqueChat(on=True), links=Links(action="hold", permitted_domains=("youtube.com",)),
                  mentions=Mentions(action="refuse"), caps=Caps(action="mask"), repeats=Repeats(action="hold"),
                  min_account_age_mins=10, verified_email=True, emote_only=True, members_only=True,
                  members=tuple(f"member{i}" for i in range(1000)), emotes=())
SENDER = Sender("member42", account_age_secs=3600 * 24, email_verified=True)  # passes every gate

TYPICAL = [
    "lol", "gg", "W", "no way", "what a play!", "that was insane 😂😂", "hi chat", "first time here, love it",
    "can you explain that build again?", "@streamer you missed the chest on the left",
    "check https://youtube.com/watch?v=dQw4 for the vod", "LETS GOOOOO", "he is cracked fr",
    "is this ranked or casual?", "🔥🔥🔥", "who else is watching from Brazil", "that boss fight was 10/10",
    "go to example dot com for free skins", "the music is too loud tbh", "ok. me too. 3.5 stars",
    "Привет всем", "POGGERS", "hahahahahaha", "@a @b @c @d look at this", "i can't believe that worked",
]


def hostile(rng: random.Random) -> list[str]:
    distinct = "".join(chr(c) for c in rng.sample(range(0x4E00, 0x9FFF), 500))
    return [
        "." * 500, "a." * 250, "@" * 500, "@a " * 166, " dot" * 125, "dot " * 125, "(dot)" * 100,
        distinct, "a" * 500, "ab" * 250, "A" * 500, "Ａ" * 500, "😂" * 500, "hxxp" * 125,
        "ex.am.ple." * 50, "exаmple.соm " * 38, "w" * 499 + "!", " ".join(["word"] * 100),
        "".join(rng.choice("aA.@ :/d0t") for _ in range(500)),
    ]


def unique_rule(checker: ModeChecker) -> Callable[[str, ChatModes, Sender], object]:
    senders = [Sender(f"u{i}") for i in range(5000)]
    counter = iter(range(10**9))

    def check(text: str, modes: ChatModes, sender: Sender) -> object:
        # A different sender each time, so every call does the crowd bookkeeping.
        return checker.unique.check("bench", text, modes, senders[next(counter) % 5000])
    return check


def time_rule(rule: Callable[[str, ChatModes, Sender], object], texts: list[str], repeat: int) -> float:
    """Mean microseconds per message (best of 5 rounds, to keep other helpers' load out)."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            for text in texts:
                rule(text, MODES, SENDER)
        best = min(best, (time.perf_counter() - started) / (repeat * len(texts)))
    return best * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(12)
    rules: dict[str, Callable[[str, ChatModes, Sender], object]] = {
        "gates (members, age, email)": lambda t, m, s: check_gates(m, s),
        "emote-only": check_emote_only,
        "mentions": check_mentions,
        "caps": check_caps,
        "repeats": check_repeats,
        "links": check_links,
        "unique chat": unique_rule(ModeChecker()),
    }
    bad = hostile(rng)
    rows = []
    for name, rule in rules.items():
        typical = time_rule(rule, TYPICAL, args.repeat)
        worst = time_rule(rule, bad, max(1, args.repeat // 10))
        slowest = max(bad, key=lambda t: time_rule(rule, [t], 20))
        scaling = [time_rule(rule, [slowest[: n]], 50) for n in (125, 250, 500)]
        rows.append({"rule": name, "typical_us": round(typical, 2), "hostile_mean_us": round(worst, 2),
                     "hostile_worst_us": round(scaling[-1], 2),
                     "worst_case_125_250_500_us": [round(x, 2) for x in scaling],
                     "worst_input": repr(slowest[:24]) + ("…" if len(slowest) > 24 else "")})
    checker = ModeChecker()
    everything = time_rule(lambda t, m, s: checker.check("bench", t, m, s), TYPICAL, args.repeat)
    if args.json:
        print(json.dumps({"rules": rows, "all_rules_typical_us": round(everything, 2)}, indent=2))
        return 0
    print(f"{'rule':30} {'typical':>9} {'hostile':>9} {'worst@500':>10}  worst at 125/250/500 chars; worst input")
    for r in rows:
        scale = "/".join(f"{x:g}" for x in r["worst_case_125_250_500_us"])
        print(f"{r['rule']:30} {r['typical_us']:>8.2f}u {r['hostile_mean_us']:>8.2f}u {r['hostile_worst_us']:>9.2f}u"
              f"  {scale}; {r['worst_input']}")
    print(f"\nall rules through ModeChecker.check, typical mix: {everything:.2f} us/message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
