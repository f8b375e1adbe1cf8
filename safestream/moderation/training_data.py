"""The sentence heads' training data: the Davidson tweets, ToxiGen sentences and our own cases, as labelled examples.

``DATA_DIR`` is the source checkout's ``data/moderation/``, found through
``safestream.resources`` (training is a developer's step: the data does not
ship in the wheel; ``--data`` points elsewhere).
"""

from __future__ import annotations

import csv
import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safestream.resources import checkout

LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
DATA_DIR = checkout("data") / "moderation"
_MENTION = re.compile(r"@\w+:?")
_URL = re.compile(r"https?://\S+")
_RT = re.compile(r"^\s*(?:!+\s*)?RT\s+", re.IGNORECASE)
NA = float("nan")


@dataclass(frozen=True)
class Example:
    text: str
    labels: tuple[float, ...]  # per LABELS; nan = no opinion
    source: str


def _tweet(text: str) -> str:
    text = html.unescape(text)
    text = _URL.sub("", _RT.sub("", text))
    return " ".join(_MENTION.sub("@user", text).split())


def load_davidson(root: Path, per_class: int, rng: np.random.Generator) -> list[Example]:
    by_class: dict[int, list[str]] = {0: [], 1: [], 2: []}
    with (root / "davidson" / "labeled_data.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_class[int(row["class"])].append(_tweet(row["tweet"]))
    # hate: toxic, identity attack, usually profane. offensive: obscene, and no
    # opinion on toxicity (it is mostly casual swearing: calling it toxic would
    # teach the toxicity head to flag "fuck yeah"). neither: clean.
    rows = {0: (1, NA, 1, NA, NA, 1), 1: (NA, 0, 1, NA, NA, 0), 2: (0, 0, 0, 0, 0, 0)}
    out: list[Example] = []
    for cls, texts in by_class.items():
        picked = rng.permutation(len(texts))[:per_class]
        out += [Example(texts[i], tuple(float(v) for v in rows[cls]), "davidson") for i in sorted(picked)]
    return out


def load_toxigen(root: Path) -> list[Example]:
    out: list[Example] = []
    with (root / "toxigen" / "toxigen_sentences.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            hate = row["label"] == "hate"
            labels = (1, NA, 0, NA, NA, 1) if hate else (0, 0, 0, 0, 0, 0)
            out.append(Example(row["text"], tuple(float(v) for v in labels), "toxigen"))
    return out


def load_own(root: Path) -> list[Example]:
    with (root / "own" / "cases.csv").open(encoding="utf-8") as handle:
        return [
            Example(row["text"], tuple(float(row[k]) if row[k] != "" else NA for k in LABELS), "own")
            for row in csv.DictReader(handle)
        ]


def split(examples: list[Example], rng: np.random.Generator, val_fraction: float) -> np.ndarray:
    """A boolean validation mask, drawn per source so each source is in both halves."""
    is_val = np.zeros(len(examples), dtype=bool)
    for source in sorted({e.source for e in examples}):
        idx = np.array([i for i, e in enumerate(examples) if e.source == source])
        chosen = rng.permutation(len(idx))[: round(len(idx) * val_fraction)]
        is_val[idx[chosen]] = True
    return is_val
