"""The generated chat mix of ``bench_chain.py``: a busy stream's chat, seeded, each line tagged with its kind.

* ~52% plain chat: reactions ("gg", "lol", "no way"), questions and remarks
  made from templates and a vocabulary (5-30 words for about half of them),
  including "you" that is not aimed at anyone ("thank you", "see you", "can
  you play ...");
* ~8% addressed to someone ("you are so good", "your aim is crazy", "ur trash");
* ~4% mentions of groups (neutral and hateful);
* ~5% profanity and insults (some obfuscated);
* ~10% non-Latin scripts and emoji;
* ~20% copy-paste: lines from a small pool of spam/emote lines (``copies``).

Most lines are distinct, so the verdict cache is not flattered. The lines are
the same as before the kinds were added (same seed, same draws).
"""

from __future__ import annotations

import random

from driver.texts import NON_LATIN as NON_LATIN_LINES

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
NON_LATIN = (*NON_LATIN_LINES, "ну ты даёшь", "すごい！")
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


def chat_mix(count: int, seed: int, copies: float) -> list[tuple[str, str]]:
    """``count`` (kind, text) pairs; kinds: copy, reaction, plain, addressed, group, toxic, non_latin."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < copies:
            out.append(("copy", rng.choice(COPIES)))
            continue
        roll = rng.random()
        if roll < 0.2:
            kind, text = "reaction", rng.choice(REACTIONS)
        elif roll < 0.65:
            kind, text = "plain", fill(rng.choice(PLAIN), rng)
        elif roll < 0.75:
            kind, text = "addressed", fill(rng.choice(ADDRESSED), rng)
        elif roll < 0.80:
            kind, text = "group", fill(rng.choice(GROUP_LINES), rng)
        elif roll < 0.87:
            kind, text = "toxic", fill(rng.choice(TOXIC), rng)
        else:
            kind, text = "non_latin", rng.choice(NON_LATIN)
        if rng.random() < 0.3:
            text = f"{text} {rng.choice(REACTIONS)}"
        out.append((kind, text))
    return out
