"""The full default chain in band mode: msg/s, the share routed to the sentence stage, p50/p99 per batch.

    python load/bench_chain.py [--messages 20000] [--batch 256] [--runs 3] [--no-cache] [--band 0.15]

The chat mix is generated (seeded) to look like a busy stream's chat, with
most messages distinct so the verdict cache is not flattered:

* ~52% plain chat: reactions ("gg", "lol", "no way"), questions and remarks
  made from templates and a vocabulary (5-30 words for about half of them),
  including "you" that is not aimed at anyone ("thank you", "see you", "can
  you play ...");
* ~8% addressed to someone ("you are so good", "your aim is crazy", "ur trash");
* ~4% mentions of groups (neutral and hateful);
* ~5% profanity and insults (some obfuscated);
* ~10% non-Latin scripts and emoji;
* ~20% copy-paste: lines from a small pool of spam/emote lines (``--copies``).

Each run builds a fresh engine (empty cache), scores the mix in batches of
``--batch`` with ``escalate_all=False`` (what the server does under load) and
prints msg/s, the share the sentence stage read (and why), cache hits, and
the p50/p99 of one batch's latency. Medians over ``--runs``; the load average
is printed with them. It is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from driver import texts

# Word pools, several words a line (one a line would be 70 lines of vocabulary).
# fmt: off
REACTIONS = (
    "gg", "lol", "lmao", "no way", "omg", "pog", "W", "L", "rip", "nice", "clean", "sheesh", "hahaha", "LETS GOOO",
    "wait what", "first", "same", "true", "F", "o7", "ez", "close one", "unlucky", "gg wp",
)
NOUNS = (
    "round", "map", "boss", "clip", "song", "build", "team", "game", "stream", "patch", "skin", "combo", "jump",
    "shot", "play", "level", "raid", "queue", "match", "deck", "run", "mic", "camera", "overlay",
)
ADJS = (
    "great", "insane", "clean", "wild", "rough", "close", "funny", "new", "old", "hard", "easy", "good", "weird",
    "long", "short", "broken", "fun", "cozy", "loud", "quiet", "fast", "slow", "crazy", "nice",
)
# fmt: on
NAMES = ("alex", "sam", "kai", "mia", "leo", "zoe", "max", "ivy", "noah", "emma", "liam", "ava", "finn", "ruby")
PLACES = ("brazil", "spain", "ohio", "poland", "texas", "manila", "lagos", "berlin", "seoul", "lima", "oslo")
GAMES = ("valorant", "minecraft", "elden ring", "fortnite", "apex", "league", "tetris", "hades", "celeste")
PLAIN = (
    "that {n} was {a}",
    "what {n} is that",
    "hello from {p}",
    "can you play {g} next",
    "is this {g}?",
    "thank you for the {n}",
    "see you tomorrow {x}",
    "the {n} is so {a} today",
    "how do you do that {n}",
    "gg {x}, that {n} was {a}",
    "i have been waiting all week for this {n}",
    "first time watching, the {n} looks {a} and the chat is {a}",
    "do you play {g} with {x}?",
    "anyone know when the next {n} starts",
    "my {n} in {g} is {a} now, thanks for the tips",
    "{x} said the {n} is {a} but i think the {n} was {a}",
    "love the {n}, what {n} is this",
    "the last {n} was {a}, lets see if the next {n} is {a} too, good luck everyone",
    "can't believe that {n}, {a} {n} honestly",
    "brb getting food",
    "is {x} playing {g} later",
    "i just got here from {p}, what did i miss",
    "this {n} reminds me of {g} back in the day",
    "{n} {n} {n}",
    "who made the {n}? it is {a}",
    "wait is the {n} {a} or is it just me",
)
ADDRESSED = (
    "you are so {a} at this",
    "your {n} is {a}",
    "you're {a} today",
    "ur {n} looks {a}",
    "you are a legend {x}",
    "your {n} is trash",
    "ur trash at {g}",
    "you're so bad at this {n}",
    "you suck at {g}",
    "you are a clown",
    "go back to {g} you noob",
)
GROUPS = ("women", "immigrants", "muslims", "gay people", "old people", "refugees", "jews", "trans people")
GROUP_LINES = (
    "{q} have the right to vote",
    "{q} are great at {g}",
    "{q} should not be allowed to play",
    "i hate {q}",
    "my friends who are {q} love this {n}",
    "{q} ruin every {n}",
)
TOXIC = (
    "fuck this {n}",
    "what the sh1t was that",
    "f u c k you",
    "stfu {x}",
    "this {n} is fucking {a}",
    "holy shit that {n}",
    "idiot streamer",
    "shut up you moron",
    "kys",
    "b!tch please",
    "damn that {n}",
)
NON_LATIN = (*texts.NON_LATIN, "ну ты даёшь", "すごい！")
COPIES = (
    "PogChamp PogChamp PogChamp",
    "!drop",
    "F F F F",
    "LETS GOOOOO",
    "KEKW KEKW",
    "gg gg gg",
    "first!!!",
    "W stream",
    "hi chat",
    "o7 o7 o7",
    "🔥🔥🔥🔥",
    "1",
    "2",
    "!uptime",
    "catJAM catJAM",
)


def fill(template: str, rng: random.Random) -> str:
    out = template
    for key, pool in (("{n}", NOUNS), ("{a}", ADJS), ("{x}", NAMES), ("{p}", PLACES), ("{g}", GAMES), ("{q}", GROUPS)):
        while key in out:
            out = out.replace(key, rng.choice(pool), 1)
    return out


def chat_mix(count: int, seed: int, copies: float) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < copies:
            out.append(rng.choice(COPIES))
            continue
        roll = rng.random()
        if roll < 0.2:
            text = rng.choice(REACTIONS)
        elif roll < 0.65:
            text = fill(rng.choice(PLAIN), rng)
        elif roll < 0.75:
            text = fill(rng.choice(ADDRESSED), rng)
        elif roll < 0.80:
            text = fill(rng.choice(GROUP_LINES), rng)
        elif roll < 0.87:
            text = fill(rng.choice(TOXIC), rng)
        else:
            text = rng.choice(NON_LATIN)
        if rng.random() < 0.3:
            text = f"{text} {rng.choice(REACTIONS)}"
        out.append(text)
    return out


async def one_run(messages: list[str], batch: int, cache: bool, band: float | None) -> dict[str, float]:
    from safestream.moderation.engine import ModerationEngine
    from safestream.settings import Settings

    settings = Settings(env="test", cascade="band").validated()
    engine = ModerationEngine.from_settings(settings)
    if band is not None:
        engine.band = (band, engine.band[1])
        engine.router.low = band
    if not cache:
        engine.cache.size = 0
    await engine.load()
    try:
        await engine.assess(["warm up the model", "you are warm"], escalate_all=True)
        engine.cache._entries.clear()
        engine.cache.hits = engine.cache.misses = 0
        engine.routed.clear()
        latencies, escalated = [], 0
        started = time.perf_counter()
        for i in range(0, len(messages), batch):
            t = time.perf_counter()
            results = await engine.assess(messages[i : i + batch])
            latencies.append(time.perf_counter() - t)
            escalated += sum(r.escalated for r in results)
        elapsed = time.perf_counter() - started
        cuts = statistics.quantiles(latencies, n=100)
        routed = sum(engine.routed.values())
        return {
            "rate": len(messages) / elapsed,
            "share": escalated / len(messages),
            "model_share": routed / len(messages),
            "hits": engine.cache.hits / len(messages),
            "p50": cuts[49] * 1000,
            "p99": cuts[98] * 1000,
            **{f"why_{k}": v / len(messages) for k, v in engine.routed.items()},
        }
    finally:
        await engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copies", type=float, default=0.2, help="share of copy-paste lines")
    parser.add_argument("--band", type=float, help="the band's low end (default: the setting, 0.15)")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    messages = chat_mix(args.messages, 7, args.copies)
    print(
        f"{len(messages)} messages, {len(set(messages))} distinct; batch {args.batch}; "
        f"cache {'off' if args.no_cache else 'on'}; load average {os.getloadavg()[0]:.1f}"
    )
    runs = [asyncio.run(one_run(messages, args.batch, not args.no_cache, args.band)) for _ in range(args.runs)]
    for r in runs:
        print(
            f"  run: {r['rate']:>8.0f} msg/s  read by the model {r['share']:.1%} "
            f"(cache hits {r['hits']:.1%})  batch p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms"
        )
    med = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in {k for r in runs for k in r}}
    why = ", ".join(f"{k[4:]} {v:.1%}" for k, v in sorted(med.items()) if k.startswith("why_"))
    print(
        f"median of {args.runs}: {med['rate']:.0f} msg/s; the sentence stage read {med['share']:.1%} of messages "
        f"({med['model_share']:.1%} newly scored: {why}); cache hits {med['hits']:.1%}; "
        f"batch p50 {med['p50']:.1f} ms, p99 {med['p99']:.1f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
