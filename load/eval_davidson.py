"""How well does the moderation chain separate toxic from clean tweets? (Davidson et al. 2017)

Usage: python load/eval_davidson.py [CSV] [--limit N] [--chain SPEC] [--seed 7]

CSV defaults to data/moderation/davidson/labeled_data.csv in the project
root. Class 0 (hate) and 1 (offensive) count as toxic, 2 (neither) as clean;
a second table scores hate against neither only. Compared, on the same text:

  raw profanity-check   alt-profanity-check on the tweet as written (no normalize)
  chain scores          our chain's scores alone (normalize + the chain; no term lists)
  chain + policy        what the server does: assess + Policy.default().judge
  keywords              the policy's term lists alone, on normalized text

"At threshold" means score >= TOXIC_THRESHOLD, and for "chain + policy" an
action other than allow (which also counts term hits). ROC-AUC is the
Mann-Whitney rank statistic with tied scores sharing their mean rank.
Throughput is texts per second of the scoring calls, batched in 1,000s
("chain scores": engine.assess; "chain + policy": assess + judge).

The same tweets are then scored with their profane words obfuscated
(leetspeak, separators, repeated letters, Cyrillic look-alikes, zero-width
characters; a seeded RNG, so runs are comparable): once with a technique
picked per word, then each technique alone. Clean tweets are left as they are.
HTML entities (&amp;) are unescaped first: chat text is not HTML. Prints
figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import html
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driver.moderation import load_chain
from safestream.moderation.engine import ModerationEngine
from safestream.moderation.normalize import normalize
from safestream.moderation.policy import Policy

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = PROJECT_ROOT / "data" / "moderation" / "davidson" / "labeled_data.csv"
BATCH = 1000

# Words the obfuscator disguises: the data set's frequent profanity and slurs,
# including some our term list does not hold ("hoe", "dick"), so the models'
# side of the chain is tested too.
PROFANE = re.compile(
    r"(?:fuck|shit|bitch|nigg|fag|cunt|whore|slut|retard|twat|bastard|pussy|pussies|asshole)"
    r"[a-z]*|hoes?|ass|dick|dicks",
    re.IGNORECASE,
)
LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "$5", "t": "7", "b": "8"}
CYRILLIC = dict(zip("aceopxyishjk", "асеорхуіѕһјк", strict=True))
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
SEPARATORS = (".", "-", "*", "_", " ")


def _swap(word: str, rng: random.Random, table: dict[str, str], rate: float) -> str:
    spots = [i for i, ch in enumerate(word) if ch.lower() in table]
    if not spots:
        return word  # nothing this technique can disguise: left as written (and counted)
    chosen = {i for i in spots if rng.random() < rate} or {rng.choice(spots)}
    return "".join(rng.choice(table[ch.lower()]) if i in chosen else ch for i, ch in enumerate(word))


def _repeat(word: str, rng: random.Random) -> str:
    vowels = [i for i, ch in enumerate(word) if ch.lower() in "aeiouy"] or list(range(len(word)))
    i = rng.choice(vowels)
    return word[:i] + word[i] * rng.randint(3, 6) + word[i + 1 :]


def _between(word: str, rng: random.Random, fillers: Sequence[str], rate: float) -> str:
    gaps = [rng.random() < rate for _ in word[1:]]
    if not any(gaps):
        gaps[rng.randrange(len(gaps))] = True
    return word[0] + "".join((rng.choice(fillers) if gap else "") + ch for gap, ch in zip(gaps, word[1:], strict=True))


TECHNIQUES: dict[str, Callable[[str, random.Random], str]] = {
    "leetspeak": lambda w, rng: _swap(w, rng, LEET, 0.6),
    "separators": lambda w, rng: _between(w, rng, [rng.choice(SEPARATORS)], 1.0),
    "repeats": _repeat,
    "cyrillic": lambda w, rng: _swap(w, rng, CYRILLIC, 0.5),
    "zero-width": lambda w, rng: _between(w, rng, ZERO_WIDTH, 0.7),
}


def obfuscate(
    texts: Sequence[str], toxic: Sequence[bool], seed: int, technique: str | None
) -> tuple[list[str], int, int]:
    """Toxic texts with profane words disguised; returns (texts, words found, words changed)."""
    rng = random.Random(seed)
    found = changed = 0

    def disguise(m: re.Match[str]) -> str:
        nonlocal found, changed
        word = m.group()
        if len(word) < 2 or not PROFANE.fullmatch(word):
            return word
        name = technique or rng.choice(list(TECHNIQUES))
        new = TECHNIQUES[name](word, rng)
        found, changed = found + 1, changed + (new != word)
        return new

    out = [re.sub(r"[A-Za-z]+", disguise, t) if bad else t for t, bad in zip(texts, toxic, strict=True)]
    return out, found, changed


@dataclass(frozen=True)
class Run:
    scores: list[float]
    positive: list[bool]
    seconds: float


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """P(score of a random toxic text > score of a random clean one), ties counting half."""
    order = sorted(range(len(scores)), key=scores.__getitem__)
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # 1-based mean rank of the tie group
        i = j + 1
    pos = sum(labels)
    neg = len(labels) - pos
    if not pos or not neg:
        return float("nan")
    rank_sum = sum(r for r, label in zip(ranks, labels, strict=True) if label)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def figures(labels: Sequence[bool], run: Run, keep: Sequence[bool] | None = None) -> dict[str, float]:
    rows = [i for i in range(len(labels)) if keep is None or keep[i]]
    y = [labels[i] for i in rows]
    pred = [run.positive[i] for i in rows]
    tp = sum(a and b for a, b in zip(y, pred, strict=True))
    fp = sum(b and not a for a, b in zip(y, pred, strict=True))
    fn = sum(a and not b for a, b in zip(y, pred, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    negatives = len(y) - sum(y)
    return {
        "auc": roc_auc(y, [run.scores[i] for i in rows]),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": fp / negatives if negatives else 0.0,
    }


async def score_all(
    texts: Sequence[str],
    engine: ModerationEngine,
    policy: Policy,
    threshold: float,
    predict: Callable[[list[str]], Any],
) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    started = time.perf_counter()
    raw = [float(p) for i in range(0, len(texts), BATCH) for p in predict(list(texts[i : i + BATCH]))]
    runs["raw profanity-check"] = Run(raw, [s >= threshold for s in raw], time.perf_counter() - started)

    chain: list[float] = []
    decided: list[float] = []
    flagged: list[bool] = []
    assessing = judging = 0.0  # timed apart: judge's masking is a large share on profane text
    for i in range(0, len(texts), BATCH):
        batch = texts[i : i + BATCH]
        started = time.perf_counter()
        assessments = await engine.assess(batch)
        assessing += time.perf_counter() - started
        started = time.perf_counter()
        for text, a in zip(batch, assessments, strict=True):
            decision = policy.judge(text, a.normalized, a.scores, failed=a.failed)
            decided.append(decision.score)
            flagged.append(decision.action != "allow")
        judging += time.perf_counter() - started
        chain.extend(a.score for a in assessments)
    runs["chain scores"] = Run(chain, [s >= threshold for s in chain], assessing)
    runs["chain + policy"] = Run(decided, flagged, assessing + judging)

    started = time.perf_counter()
    hits = [bool(policy.terms.find(normalize(t))) for t in texts]
    runs["keywords"] = Run([float(h) for h in hits], hits, time.perf_counter() - started)
    return runs


def report(title: str, labels: list[bool], runs: dict[str, Run], hate: list[bool], keep: list[bool]) -> None:
    print(
        f"\n{title}: {len(labels)} tweets, {sum(labels)} toxic ({sum(labels) / len(labels):.1%}),"
        f" {sum(hate)} hate, {len(labels) - sum(labels)} neither"
    )
    print(
        f"  {'system':22s} {'AUC':>6s} {'prec':>6s} {'recall':>6s} {'F1':>6s} {'FPR':>6s}"
        f" | hate vs neither: {'AUC':>6s} {'prec':>6s} {'recall':>6s} {'F1':>6s} | {'msg/s':>9s}"
    )
    for name, run in runs.items():
        a, h = figures(labels, run), figures(hate, run, keep)
        print(
            f"  {name:22s} {a['auc']:6.3f} {a['precision']:6.3f} {a['recall']:6.3f} {a['f1']:6.3f}"
            f" {a['fpr']:6.3f} |                  {h['auc']:6.3f} {h['precision']:6.3f} {h['recall']:6.3f}"
            f" {h['f1']:6.3f} | {len(labels) / run.seconds:9,.0f}"
        )


def load(path: Path, limit: int | None, seed: int) -> tuple[list[str], list[int]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = [(html.unescape(r["tweet"]), int(r["class"])) for r in csv.DictReader(f)]
    if limit is not None and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)  # the file is sorted by text: sample, not head
    return [t for t, _ in rows], [c for _, c in rows]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--limit", type=int, help="score a seeded random sample of N tweets")
    parser.add_argument("--chain", help="moderation chain (sets SAFESTREAM_MODERATION)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from profanity_check import predict_prob  # type: ignore[import-untyped]

    settings, policy, engine = await load_chain(args.chain)
    texts, classes = load(args.csv, args.limit, args.seed)
    labels = [c in (0, 1) for c in classes]
    hate, keep = [c == 0 for c in classes], [c in (0, 2) for c in classes]
    print(f"chain {engine.name}, default policy at threshold {settings.toxic_threshold}, {args.csv}")
    try:
        predict_prob(["warm-up"])
        report(
            "original",
            labels,
            await score_all(texts, engine, policy, settings.toxic_threshold, predict_prob),
            hate,
            keep,
        )
        for technique in (None, *TECHNIQUES):
            changed_texts, found, changed = obfuscate(texts, labels, args.seed, technique)
            runs = await score_all(changed_texts, engine, policy, settings.toxic_threshold, predict_prob)
            report(
                f"obfuscated ({technique or 'mixed techniques'}; {changed}/{found} profane words changed)",
                labels,
                runs,
                hate,
                keep,
            )
    finally:
        await engine.close()


if __name__ == "__main__":
    asyncio.run(main())
