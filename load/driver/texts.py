"""Chat text the load scripts send or score: the fan-out lines and a seeded chat mix for the moderation benches."""

from __future__ import annotations

import random

#: What the fan-out senders (and Locust's users) say; every script appends its own marker.
CHAT_LINES: tuple[str, ...] = (
    "hello everyone, great stream today",
    "that was an amazing play, well done",
    "what game are we playing next?",
    "greetings from the other side of the world",
    "love the music in the background",
    "how long have you been streaming?",
    "this is my favourite channel",
    "good luck on the next round",
)

#: Non-Latin scripts and emoji: the normalizer must leave them alone (and cheaply).
NON_LATIN: tuple[str, ...] = (
    "привет всем",
    "καλημέρα σε όλους",
    "日本語のチャット",
    "güzel oyun",
    "très bien joué",
    "good game 👍",
    "😂😂😂",
    "🔥🔥 lets go",
    "¡qué jugada!",
    "안녕하세요",
)

CLEAN: tuple[str, ...] = (
    "lol",
    "gg",
    "gg wp",
    "nice play!",
    "hi everyone",
    "what time is the next stream?",
    "meet at 4:30",
    "first!",
    "that was insane",
    "I have 100 apples",
    "so good",
    "lmaooo",
    "sooo close",
    "how do you do that combo",
    "can you play the new map",
    "@streamer hello from Brazil",
    "check https://example.com/clip/123",
    "classic move",
    "we need a cocktail after this",
    "the year 2024 is wild",
    "hahaha",
    "POG",
    "is this 1080p?",
    "Scunthorpe represent",
    "a b testing is fun",
)
#: Profanity as chat writes it: separators, leetspeak, full-width and Cyrillic look-alikes, zero-width spaces.
TOXIC: tuple[str, ...] = (
    "fuck this",
    "what the sh1t",
    "f u c k you",
    "f.u.c.k off",
    "fuuuuck",
    "you b!tch",
    "@ss-hole",
    "ｆｕｃｋ",
    "fuсk you",
    "f\u200bu\u200bck",
    "idiοt",
    "stfu you a$$",
)
WORDS: tuple[str, ...] = ("the", "game", "was", "really", "fun", "today", "and", "chat", "is", "hype")


def make_messages(count: int, seed: int) -> list[str]:
    """A plausible chat mix: ~70% clean English, ~15% non-Latin/emoji, ~5% toxic."""
    rnd = random.Random(seed)
    messages: list[str] = []
    for _ in range(count):
        roll = rnd.random()
        if roll < 0.70:
            base = rnd.choice(CLEAN)
        elif roll < 0.85:
            base = rnd.choice(NON_LATIN)
        elif roll < 0.90:
            base = rnd.choice(TOXIC)
        else:
            base = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 12)))
        if rnd.random() < 0.3:  # vary messages so nothing is trivially cached
            base = f"{base} {rnd.choice(WORDS)}"
        messages.append(base)
    return messages
