"""Per-rule cost on the send path: microseconds per message for each chat-mode rule.

Each rule runs exactly as ``ModeChecker`` calls it, switched on with its
default thresholds, over two sets of messages: a realistic chat mix (short
lines, some links, mentions, emoji, shouting) and hostile input built to make
a naive implementation slow (500 characters of dots, '@'s, "dot dot dot",
thousands of distinct code points, long runs, mixed scripts, and runs of
near-matches: "aaaaaaaaab" over and over, TLDs that fail on their last
letter). The target is <= 10 us per message per rule.

The scaling table times each rule's near-match inputs at 500 to 4,000
characters: linear cost doubles with the length (4000/500 about x8, less
where a rule bounds what it reads); a backtracking regular expression or a
per-candidate loop would grow with the square (x64). Only ``links`` uses
regular expressions, built so they cannot backtrack (``test_modes_rules``
checks their structure); the table is the measured side of that claim.

    python load/bench_rules.py [--json] [--rounds 15]   # seconds; medians of the runs, p99 of the calls
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from driver.stats import rank_percentile
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
from safestream.moderation.modes.unique import letters_key

MODES = ChatModes(
    unique=UniqueChat(on=True),
    links=Links(action="hold", permitted_domains=("youtube.com",)),
    mentions=Mentions(action="refuse"),
    caps=Caps(action="mask"),
    repeats=Repeats(action="hold"),
    min_account_age_mins=10,
    verified_email=True,
    emote_only=True,
    members_only=True,
    members=tuple(f"member{i}" for i in range(1000)),
    emotes=(),
)
SENDER = Sender("member42", account_age_secs=3600 * 24, email_verified=True)  # passes every gate

TYPICAL = [
    "lol",
    "gg",
    "W",
    "no way",
    "what a play!",
    "that was insane 😂😂",
    "hi chat",
    "first time here, love it",
    "can you explain that build again?",
    "@streamer you missed the chest on the left",
    "check https://youtube.com/watch?v=dQw4 for the vod",
    "LETS GOOOOO",
    "he is cracked fr",
    "is this ranked or casual?",
    "🔥🔥🔥",
    "who else is watching from Brazil",
    "that boss fight was 10/10",
    "go to example dot com for free skins",
    "the music is too loud tbh",
    "ok. me too. 3.5 stars",
    "Привет всем",
    "POGGERS",
    "hahahahahaha",
    "@a @b @c @d look at this",
    "i can't believe that worked",
]


def near_misses(n: int) -> dict[str, str]:
    """``n`` characters of what almost matches, per rule: the inputs that make per-candidate work grow."""

    def fill(unit: str) -> str:
        return (unit * (n // len(unit) + 1))[:n]

    def spread(piece: str, count: int) -> str:  # ``count`` near-matches, letters between (no dot limit hit)
        gap = max(1, n // count - len(piece))
        return fill("x" * gap + piece)[:n]

    return {
        "links": spread(".comx ", 48),  # the TLD trie matches "com", the lookahead fails on "x"
        "links (look-alike)": spread(".соmx ", 48),
        "links (IP)": spread("1.2.3 ", 24),
        "links (dot words)": fill("a dot "),
        "repeats": fill("a" * 9 + "b"),  # nine of a kind, never ten
        "repeats (CJK)": "".join(chr(0x4E00 + i % 500) * 9 + "b" for i in range(n // 10 + 1))[:n],
        "mentions": fill("@a @"),
        "caps": fill("Aa"),
        "emote-only": "😂" * (n - 1) + "a",
        "unique": fill("copy pasta "),
    }


def hostile(rng: random.Random) -> list[str]:
    distinct = "".join(chr(c) for c in rng.sample(range(0x4E00, 0x9FFF), 500))
    return [
        *near_misses(500).values(),
        "." * 500,
        "a." * 250,
        "@" * 500,
        "@a " * 166,
        " dot" * 125,
        "dot " * 125,
        "(dot)" * 100,
        distinct,
        "a" * 500,
        "ab" * 250,
        "A" * 500,
        "Ａ" * 500,
        "😂" * 500,
        "hxxp" * 125,
        "ex.am.ple." * 50,
        "exаmple.соm " * 38,
        "w" * 499 + "!",
        " ".join(["word"] * 100),
        "".join(rng.choice("aA.@ :/d0t") for _ in range(500)),
    ]


def unique_rule(checker: ModeChecker) -> Callable[[str, ChatModes, Sender], object]:
    senders = [Sender(f"u{i}") for i in range(5000)]
    counter = iter(range(10**9))

    def check(text: str, modes: ChatModes, sender: Sender) -> object:
        # A different sender each time, so every call does the crowd bookkeeping.
        return checker.unique.check("bench", text, modes, senders[next(counter) % 5000])

    return check


def time_calls(
    rule: Callable[[str, ChatModes, Sender], object], texts: list[str], rounds: int, repeat: int
) -> tuple[list[float], list[float]]:
    """Per-round mean and every per-call sample (microseconds of this thread's CPU time).

    CPU time, not wall time: on a shared machine a call preempted by another
    process would otherwise count the other process's work. Each sample is one
    text run ``repeat`` times (to rise above the clock's resolution), minus the
    timer's own cost.
    """
    clock = time.thread_time_ns
    overhead = min(-(clock() - clock()) for _ in range(200))
    means, samples = [], []
    for _ in range(rounds):
        total = 0.0
        for text in texts:
            started = clock()
            for _ in range(repeat):
                rule(text, MODES, SENDER)
            took = max(0.0, (clock() - started - overhead) / repeat / 1000)
            samples.append(took)
            total += took
        means.append(total / len(texts))
    return means, samples


def reference_us() -> float:
    """A fixed piece of work (a set of 500 characters), to compare machines and moments."""
    text = "abcdefghij" * 50
    clock = time.thread_time_ns
    best = min(_timed(clock, text) for _ in range(50))
    return best / 1000


def _timed(clock: Callable[[], int], text: str) -> float:
    started = clock()
    for _ in range(20):
        set(text)
    return (clock() - started) / 20


LENGTHS = (500, 1000, 2000, 4000)
#: Which near-match inputs (``near_misses``) stress which rule.
STRESSED_BY = {
    **{rule: (rule,) for rule in ("emote-only", "mentions", "caps")},
    "repeats": ("repeats", "repeats (CJK)"),
    "links (incl. obfuscated)": ("links", "links (look-alike)", "links (IP)", "links (dot words)"),
    "unique: normalization": ("unique",),
    "unique chat (whole rule)": ("unique",),
}


def scale_rows(
    rules: dict[str, Callable[[str, ChatModes, Sender], object]], rounds: int, repeat: int
) -> list[dict[str, Any]]:
    """Each rule on its near-match inputs at every length in ``LENGTHS``: linear time doubles per step."""
    inputs = {n: near_misses(n) for n in LENGTHS}
    rows: list[dict[str, Any]] = []
    for name, keys in STRESSED_BY.items():
        for key in keys:
            times = [statistics.median(time_calls(rules[name], [inputs[n][key]], rounds, repeat)[0]) for n in LENGTHS]
            rows.append({"rule": name, "input": key, "lengths": list(LENGTHS), "us": [round(t, 2) for t in times]})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=7, help="runs per rule and input set (the median is shown)")
    parser.add_argument("--repeat", type=int, default=20, help="calls per timed sample")
    args = parser.parse_args()
    rng = random.Random(12)
    rules: dict[str, Callable[[str, ChatModes, Sender], object]] = {
        "gates (members, age, email)": lambda t, m, s: check_gates(m, s),
        "emote-only": check_emote_only,
        "mentions": check_mentions,
        "caps": check_caps,
        "repeats": check_repeats,
        "links (incl. obfuscated)": check_links,
        "unique: normalization": lambda t, m, s: letters_key(t),
        "unique chat (whole rule)": unique_rule(ModeChecker()),
    }
    bad = hostile(rng)
    rows: list[dict[str, Any]] = []
    for name, rule in rules.items():
        chat_means, chat_samples = time_calls(rule, TYPICAL, args.rounds, args.repeat)
        bad_means, bad_samples = time_calls(rule, bad, args.rounds, args.repeat)
        per_text = [statistics.median(bad_samples[i :: len(bad)]) for i in range(len(bad))]
        worst = max(range(len(bad)), key=per_text.__getitem__)
        rows.append(
            {
                "rule": name,
                "chat_median_us": round(statistics.median(chat_means), 2),
                "chat_p99_us": round(rank_percentile(chat_samples, 0.99), 2),
                "hostile_median_us": round(statistics.median(bad_means), 2),
                "hostile_p99_us": round(rank_percentile(bad_samples, 0.99), 2),
                "hostile_worst_us": round(per_text[worst], 2),
                "worst_input": repr(bad[worst][:20]) + ("…" if len(bad[worst]) > 20 else ""),
            }
        )
    scaling = scale_rows(rules, args.rounds, args.repeat)
    checker = ModeChecker()
    all_means, all_samples = time_calls(
        lambda t, m, s: checker.check("bench", t, m, s), TYPICAL, args.rounds, args.repeat
    )
    summary: dict[str, Any] = {
        "rules": rows,
        "scaling": scaling,
        "all_rules_chat_median_us": round(statistics.median(all_means), 2),
        "all_rules_chat_p99_us": round(rank_percentile(all_samples, 0.99), 2),
        "reference_set500_us": round(reference_us(), 2),
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{'rule':28} {'chat med':>9} {'chat p99':>9} {'500ch med':>10} {'500ch p99':>10} {'worst':>7}  worst input")
    for r in rows:
        print(
            f"{r['rule']:28} {r['chat_median_us']:>8.2f}u {r['chat_p99_us']:>8.2f}u {r['hostile_median_us']:>9.2f}u"
            f" {r['hostile_p99_us']:>9.2f}u {r['hostile_worst_us']:>6.2f}u  {r['worst_input']}"
        )
    head = "".join(f"{n:>9}" for n in LENGTHS)
    print(f"\n{'near-matches by length (median us per message)':60}{head}  {LENGTHS[-1]}/{LENGTHS[0]}")
    for r in scaling:
        us = r["us"]
        print(f"{r['rule'] + ' / ' + r['input']:60}" + "".join(f"{t:>8.2f}u" for t in us) + f"  x{us[-1] / us[0]:.1f}")
    print(
        f"\nall rules through ModeChecker.check, chat mix: median {summary['all_rules_chat_median_us']} us,"
        f" p99 {summary['all_rules_chat_p99_us']} us"
    )
    print(
        f"reference (set of 500 chars): {summary['reference_set500_us']} us; load average"
        f" {summary['load_average']:.2f} (CPU time per thread; figures still rise with load)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
