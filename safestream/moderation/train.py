"""``safestream train-moderation``: train the sentence stage's heads, reproducibly.

Data (all in the repository, under ``data/moderation/``, each with its licence):

* ``davidson/``: 24,783 tweets (MIT). Its "offensive" class is mostly casual
  profanity, so it teaches ``obscene`` and ``toxicity``, never
  ``identity_attack``; only its "hate" class counts as identity attack, and it
  has no opinion on ``insult`` and ``threat`` (left unlabelled, not negative).
  A fixed, class-balanced sample (``--davidson-per-class``) keeps training to
  minutes on two cores.
* ``toxigen/``: 767 implicit-hate and neutral sentences about 15 groups (MIT).
* ``own/cases.csv``: our own functional cases and innocent look-alikes
  (``tools/write_own_cases.py``).

Every text goes through the server's ``normalize`` first: the stage scores
normalized text, so it is trained on it. Rows are split 80/20 per source with
a fixed seed; heads are fit on the 80, Platt scalers and the reported ROC AUCs
on the 20. Same data, same seed, same encoder weights -> the same artifact
(torch runs single-threaded here, so floating point sums are ordered).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safestream.moderation.heads import DEFAULT_ARTIFACT, Heads, auc, fit_platt

log = logging.getLogger(__name__)

LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "moderation"
_MENTION = re.compile(r"@\w+:?")
_URL = re.compile(r"https?://\S+")
_RT = re.compile(r"^\s*(?:!+\s*)?RT\s+", re.IGNORECASE)
NA = float("nan")


@dataclass(frozen=True)
class Example:
    text: str
    labels: tuple[float, ...]   # per LABELS; nan = no opinion
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
    # hate: toxic, identity attack, usually profane; offensive: toxic + obscene; neither: clean.
    rows = {0: (1, NA, 1, NA, NA, 1), 1: (1, 0, 1, NA, NA, 0), 2: (0, 0, 0, 0, 0, 0)}
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
        return [Example(row["text"], tuple(float(row[k]) if row[k] != "" else NA for k in LABELS), "own")
                for row in csv.DictReader(handle)]


def split(examples: list[Example], rng: np.random.Generator, val_fraction: float) -> np.ndarray:
    """A boolean validation mask, drawn per source so each source is in both halves."""
    is_val = np.zeros(len(examples), dtype=bool)
    for source in sorted({e.source for e in examples}):
        idx = np.array([i for i, e in enumerate(examples) if e.source == source])
        chosen = rng.permutation(len(idx))[: int(round(len(idx) * val_fraction))]
        is_val[idx[chosen]] = True
    return is_val


def _fit_head(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit(x, y.astype(int))
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def train(*, data_dir: Path = DATA_DIR, out: Path = DEFAULT_ARTIFACT, seed: int = 13,
          davidson_per_class: int = 1400, limit: int | None = None, max_tokens: int = 64,
          ) -> tuple[Heads, dict[str, Any]]:
    import torch

    from safestream.moderation.encoder import ENCODER_NAME, shared_encoder
    from safestream.moderation.normalize import normalize

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every run
    rng = np.random.default_rng(seed)
    examples = load_davidson(data_dir, davidson_per_class, rng) + load_toxigen(data_dir) + load_own(data_dir)
    if limit is not None:  # a small, still mixed sample (for tests)
        examples = [examples[i] for i in sorted(rng.permutation(len(examples))[:limit])]
    is_val = split(examples, rng, 0.2)
    started = time.perf_counter()
    encoder = shared_encoder()
    x = encoder.embed([normalize(e.text) for e in examples], max_tokens=max_tokens, batch_size=32)
    embed_secs = time.perf_counter() - started
    y = np.array([e.labels for e in examples], dtype=np.float64)
    weights, bias, scale, offset = [], [], [], []
    report: dict[str, Any] = {"examples": len(examples), "validation": int(is_val.sum()),
                              "embed_secs": round(embed_secs, 1), "auc": {}}
    val_probs = np.full((len(examples), len(LABELS)), NA)
    for j, label in enumerate(LABELS):
        known = ~np.isnan(y[:, j])
        tr, va = known & ~is_val, known & is_val
        if len(set(y[tr, j])) < 2:
            raise SystemExit(f"label {label!r} has one class only in the training rows; use more data")
        w, b = _fit_head(x[tr], y[tr, j], seed)
        logits = x[va] @ w + b
        a, c = fit_platt(logits, y[va, j]) if len(set(y[va, j])) == 2 else (1.0, 0.0)
        weights.append(w), bias.append(b), scale.append(a), offset.append(c)
        val_probs[va, j] = 1.0 / (1.0 + np.exp(-(a * logits + c)))
        report["auc"][label] = round(auc(y[va, j], val_probs[va, j]), 4)
    # "toxic vs not" overall: toxicity label against the highest category probability.
    tox = ~np.isnan(y[:, 0]) & is_val
    heads = Heads(labels=LABELS, weights=np.array(weights).T, bias=np.array(bias), scale=np.array(scale),
                  offset=np.array(offset), encoder=ENCODER_NAME, encoder_sha256=encoder.checksum,
                  max_tokens=max_tokens, meta={})
    probs = heads.probabilities(x[tox])
    report["auc"]["toxic_overall_max"] = round(auc(y[tox, 0], probs.max(axis=1)), 4)
    for source in ("davidson", "toxigen", "own"):
        rows = tox & np.array([e.source == source for e in examples])
        report["auc"][f"toxic_{source}"] = round(auc(y[rows, 0], heads.probabilities(x[rows])[:, 0]), 4)
    report["data_sha256"] = _data_digest(data_dir)
    meta = {"seed": seed, "davidson_per_class": davidson_per_class, "limit": limit, **report}
    heads = Heads(labels=heads.labels, weights=heads.weights, bias=heads.bias, scale=heads.scale,
                  offset=heads.offset, encoder=heads.encoder, encoder_sha256=heads.encoder_sha256,
                  max_tokens=max_tokens, meta=meta)
    heads.save(out)
    return heads, report


def _data_digest(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(data_dir.rglob("*.csv")):
        digest.update(path.relative_to(data_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def run(args: argparse.Namespace) -> int:
    data = Path(args.data) if args.data else DATA_DIR
    out = Path(args.out) if args.out else DEFAULT_ARTIFACT
    if not (data / "own" / "cases.csv").is_file():
        print(f"train-moderation: no training data under {data}", file=sys.stderr)
        return 2
    _, report = train(data_dir=data, out=out, seed=args.seed,
                      davidson_per_class=args.davidson_per_class, limit=args.limit)
    print(f"wrote {out}: {report['examples']} examples ({report['validation']} validation), "
          f"embedding {report['embed_secs']} s")
    for name, value in report["auc"].items():
        print(f"  AUC {name:<22} {value}")
    return 0
