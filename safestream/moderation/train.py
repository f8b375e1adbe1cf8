"""``safestream train-moderation``: train the sentence stage's heads, reproducibly.

Data (all in the repository, under ``data/moderation/``, each with its licence):

* ``davidson/``: 24,783 tweets (MIT). Its "offensive" class is mostly casual
  profanity, so it teaches ``obscene`` only (no opinion on ``toxicity``, never
  ``identity_attack``); only its "hate" class counts as identity attack, and it
  has no opinion on ``insult`` and ``threat`` (left unlabelled, not negative).
  A fixed, class-balanced sample (``--davidson-per-class``) keeps training to
  minutes on two cores.
* ``toxigen/``: 767 implicit-hate and neutral sentences about 15 groups (MIT).
* ``own/cases.csv``: our own functional cases and innocent look-alikes
  (``tools/write_own_cases.py``).

Every text goes through the server's ``normalize`` first: the stage scores
normalized text, so it is trained on it. Rows are split 80/20 per source with
a fixed seed; heads are fit on the 80, Platt scalers and the reported ROC AUCs
on the 20. The heads are one shared hidden layer (``--hidden``, ReLU) and a
logistic output per label, trained jointly with a masked, class-balanced
binary cross-entropy (a row with no opinion on a label does not train it);
``--hidden 0`` trains plain logistic regressions instead. Same data, same
seed, same encoder weights -> the same artifact (torch runs single-threaded
here, so floating point sums are ordered). ``--cache DIR`` keeps the
embeddings between runs (keyed by data, encoder and settings): a speed-up only.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from safestream.moderation import heads_probe
from safestream.moderation.encoder import DEFAULT_LAYERS, BaseEncoder
from safestream.moderation.heads import DEFAULT_ARTIFACT, Heads, auc, fit_platt, save_artifact
from safestream.moderation.training_data import DATA_DIR, LABELS, load_davidson, load_own, load_toxigen, split

log = logging.getLogger(__name__)


def _fit_head(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit(x, y.astype(int))
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def _fit_mlp(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    hidden: int,
    epochs: int = 400,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import torch

    torch.manual_seed(seed)
    known = ~np.isnan(y)
    pos = (np.nan_to_num(y) * known).sum(0)
    neg = known.sum(0) - pos
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(np.nan_to_num(y), dtype=torch.float32)
    mt = torch.tensor(known, dtype=torch.float32)
    first, last = torch.nn.Linear(x.shape[1], hidden), torch.nn.Linear(hidden, y.shape[1])
    model = torch.nn.Sequential(first, torch.nn.ReLU(), last)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        reduction="none", pos_weight=torch.tensor(neg / np.maximum(pos, 1), dtype=torch.float32)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(epochs):  # full batch: deterministic, and seconds on these sizes
        optimizer.zero_grad()
        loss = (loss_fn(model(xt), yt) * mt).sum() / mt.sum()
        loss.backward()
        optimizer.step()
    return (
        first.weight.detach().numpy().T.astype(np.float64),
        first.bias.detach().numpy().astype(np.float64),
        last.weight.detach().numpy().T.astype(np.float64),
        last.bias.detach().numpy().astype(np.float64),
    )


VARIANTS = ("fp32", "onnx-int8")


def _encoder(variant: str, layers: int) -> BaseEncoder:
    """The reference encoder of a variant: torch for fp32 (ONNX fp32 agrees to 2e-7), ONNX Runtime for int8."""
    from safestream.moderation.encoder import shared_encoder

    if variant == "fp32":
        return shared_encoder(layers=layers)
    if variant != "onnx-int8":
        raise SystemExit(f"unknown encoder variant {variant!r}; expected {' or '.join(VARIANTS)}")
    from safestream.moderation import encoder_onnx

    if not encoder_onnx.onnxruntime_installed():
        raise SystemExit("onnx-int8 heads need onnxruntime (pip install 'safestream[sentence]'), or --variants fp32")
    encoder = shared_encoder(int8=True, runtime="onnx", threads=1, layers=layers)
    if encoder.variant != variant:
        raise SystemExit("the ONNX int8 encoder did not load (see the warning above); or --variants fp32")
    return encoder


def _embed(encoder: BaseEncoder, texts: list[str], max_tokens: int, cache: Path | None) -> tuple[np.ndarray, float]:
    """Embeddings of ``texts``; with ``cache``, only texts not embedded before are run."""
    from safestream.moderation.encoder import DIMENSIONS

    started = time.perf_counter()
    graph = f"-{encoder.graph_sha256[:16]}" if encoder.graph_sha256 else ""
    name = f"embeddings-{encoder.checksum[:16]}-l{encoder.layers}-{encoder.variant}{graph}-{max_tokens}.npz"
    path = cache / name if cache else None
    known: dict[str, np.ndarray] = {}
    if path is not None and path.is_file():
        with np.load(path) as stored:
            known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    if missing:
        vectors = encoder.embed([t for _, t in missing], max_tokens=max_tokens, batch_size=32)
        known.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, keys=np.array(list(known)), vectors=np.array(list(known.values())))
    x = np.array([known[k] for k in keys], dtype=np.float32).reshape(len(texts), DIMENSIONS)
    return x, time.perf_counter() - started


def _fit(
    encoder: BaseEncoder,
    x: np.ndarray,
    y: np.ndarray,
    is_val: np.ndarray,
    sources: np.ndarray,
    *,
    seed: int,
    hidden: int,
    max_tokens: int,
) -> Heads:
    """Heads for one variant's embeddings: fit on the training rows, Platt and AUCs on the validation rows."""
    from safestream.moderation.encoder import ENCODER_NAME

    hidden_w = hidden_b = None
    if hidden:
        hidden_w, hidden_b, w_out, b_out = _fit_mlp(x[~is_val], y[~is_val], seed, hidden)
    else:
        fitted = [
            _fit_head(x[~is_val & ~np.isnan(y[:, j])], y[~is_val & ~np.isnan(y[:, j]), j], seed)
            for j in range(len(LABELS))
        ]
        w_out, b_out = np.array([w for w, _ in fitted]).T, np.array([b for _, b in fitted])
    heads = Heads(
        labels=LABELS,
        # float32, as the artifact stores them: the scalers and AUCs below are those of the saved heads.
        weights=w_out.astype(np.float32).astype(np.float64),
        bias=b_out,
        scale=np.ones(len(LABELS)),
        offset=np.zeros(len(LABELS)),
        encoder=ENCODER_NAME,
        encoder_sha256=encoder.checksum,
        max_tokens=max_tokens,
        hidden_weights=None if hidden_w is None else hidden_w.astype(np.float32).astype(np.float64),
        hidden_bias=hidden_b,
        variant=encoder.variant,
        graph_sha256=encoder.graph_sha256,
        layers=encoder.layers,
    )
    all_logits = heads.logits(x)
    scale, offset, aucs = [], [], {}
    for j, label in enumerate(LABELS):
        va = ~np.isnan(y[:, j]) & is_val
        a, c = fit_platt(all_logits[va, j], y[va, j]) if len(set(y[va, j])) == 2 else (1.0, 0.0)
        scale.append(a)
        offset.append(c)
        aucs[label] = round(auc(y[va, j], all_logits[va, j]), 4)
    heads = dataclasses.replace(heads, scale=np.array(scale), offset=np.array(offset))
    # "toxic vs not" overall: toxicity label against the highest category probability.
    tox = ~np.isnan(y[:, 0]) & is_val
    aucs["toxic_overall_max"] = round(auc(y[tox, 0], heads.probabilities(x[tox]).max(axis=1)), 4)
    for source in ("davidson", "toxigen", "own"):
        rows = tox & (sources == source)
        aucs[f"toxic_{source}"] = round(auc(y[rows, 0], heads.probabilities(x[rows])[:, 0]), 4)
    meta: dict[str, Any] = {"auc": aucs, "probe": heads_probe.probe_scores(heads, encoder)}
    if encoder.graph_sha256:
        import onnxruntime

        meta["onnxruntime"] = onnxruntime.__version__  # informational: the graph checksum is what is checked
    return dataclasses.replace(heads, meta=meta)


def train(
    *,
    data_dir: Path = DATA_DIR,
    out: Path = DEFAULT_ARTIFACT,
    seed: int = 13,
    davidson_per_class: int = 1400,
    limit: int | None = None,
    max_tokens: int = 64,
    hidden: int = 192,
    cache: Path | None = None,
    variants: tuple[str, ...] = VARIANTS,
    layers: int = DEFAULT_LAYERS,
) -> tuple[dict[str, Heads], dict[str, Any]]:
    """Heads per encoder variant on the same rows and split, saved to one artifact; (heads, report)."""
    import torch

    from safestream.moderation.normalize import normalize

    encoders = [_encoder(v, layers) for v in dict.fromkeys(variants)]  # fail before minutes of embedding
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every run
    rng = np.random.default_rng(seed)
    examples = load_davidson(data_dir, davidson_per_class, rng) + load_toxigen(data_dir) + load_own(data_dir)
    if limit is not None:  # a small, still mixed sample (for tests)
        examples = [examples[i] for i in sorted(rng.permutation(len(examples))[:limit])]
    is_val = split(examples, rng, 0.2)
    texts = [normalize(e.text) for e in examples]
    y = np.array([e.labels for e in examples], dtype=np.float64)
    for j, label in enumerate(LABELS):
        if len({v for v in y[~is_val, j] if not np.isnan(v)}) < 2:
            raise SystemExit(f"label {label!r} has one class only in the training rows; use more data")
    sources = np.array([e.source for e in examples])
    report: dict[str, Any] = {"examples": len(examples), "validation": int(is_val.sum()), "embed_secs": {}}
    fitted: dict[str, Heads] = {}
    for encoder in encoders:
        x, secs = _embed(encoder, texts, max_tokens, cache)
        report["embed_secs"][encoder.variant] = round(secs, 1)
        fitted[encoder.variant] = _fit(encoder, x, y, is_val, sources, seed=seed, hidden=hidden, max_tokens=max_tokens)
    report["auc"] = {variant: heads.meta["auc"] for variant, heads in fitted.items()}
    # No timings in the artifact: the same inputs must give the same bytes.
    meta = {
        "seed": seed,
        "davidson_per_class": davidson_per_class,
        "limit": limit,
        "hidden": hidden,
        "examples": report["examples"],
        "validation": report["validation"],
        "data_sha256": _data_digest(data_dir),
    }
    save_artifact(out, list(fitted.values()), meta)
    return fitted, report


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
    layers = DEFAULT_LAYERS if args.layers is None else args.layers
    _, report = train(
        data_dir=data,
        out=out,
        seed=args.seed,
        davidson_per_class=args.davidson_per_class,
        limit=args.limit,
        hidden=args.hidden,
        cache=Path(args.cache) if args.cache else None,
        variants=tuple(v.strip() for v in args.variants.split(",") if v.strip()),
        layers=layers,
    )
    secs = ", ".join(f"{v} {t} s" for v, t in report["embed_secs"].items())
    print(
        f"wrote {out}: {report['examples']} examples ({report['validation']} validation), "
        f"{layers} of the encoder's layers, embedding {secs}"
    )
    variants = list(report["auc"])
    print(f"  validation ROC AUC {'':<13}" + "".join(f"{v:>11}" for v in variants))
    for name in report["auc"][variants[0]]:
        print(f"  {name:<32}" + "".join(f"{report['auc'][v][name]:>11}" for v in variants))
    return 0
