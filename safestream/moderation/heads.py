"""Multi-label heads over sentence embeddings: the small artifact we train and commit.

A small shared hidden layer (ReLU) reads the 384-d embedding, then one
logistic output per category; a per-category Platt scaler (fit on the
validation split, not on the training rows) turns its logit into a calibrated
probability:

    h = relu(W1 x + b1)          (omitted when the artifact has no hidden layer)
    p = sigmoid(a * (w . h + b) + c)

The artifact is plain JSON (never a pickle: loading it cannot run code) with
the label names, the weights, the scalers, the encoder's name and the sha256 of
the encoder weights the heads were trained on. Loading refuses heads trained
for other weights, since their scores would silently be meaningless.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safestream.moderation.contract import LABELS, ModelLoadError, Scores

FORMAT = "safestream-heads/1"
DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "models" / "sentence_heads.json"


@dataclass(frozen=True)
class Heads:
    labels: tuple[str, ...]
    weights: np.ndarray  # (dimensions, labels)
    bias: np.ndarray  # (labels,)
    scale: np.ndarray  # Platt a, (labels,)
    offset: np.ndarray  # Platt c, (labels,)
    encoder: str
    encoder_sha256: str
    max_tokens: int = 128
    meta: Mapping[str, Any] = field(default_factory=dict)
    hidden_weights: np.ndarray | None = None  # (dimensions, hidden)
    hidden_bias: np.ndarray | None = None  # (hidden,)

    def __post_init__(self) -> None:
        unknown = set(self.labels) - set(LABELS)
        if unknown:
            raise ModelLoadError(f"heads name unknown labels {sorted(unknown)}")
        n = len(self.labels)
        if self.hidden_weights is not None and (
            self.hidden_bias is None
            or self.hidden_weights.shape[1] != (self.hidden_bias.shape[0])
            or self.weights.shape[0] != self.hidden_bias.shape[0]
        ):
            raise ModelLoadError("heads hidden layer does not match its output layer")
        if (
            self.weights.ndim != 2
            or self.weights.shape[1] != n
            or any(v.shape != (n,) for v in (self.bias, self.scale, self.offset))
        ):
            raise ModelLoadError("heads arrays do not match their label list")

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        x = embeddings.astype(np.float64)
        if self.hidden_weights is not None and self.hidden_bias is not None:
            x = np.maximum(x @ self.hidden_weights + self.hidden_bias, 0.0)
        return x @ self.weights + self.bias  # type: ignore[no-any-return]

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        logits = self.logits(embeddings)
        probs: np.ndarray = np.exp(-np.logaddexp(0.0, -(self.scale * logits + self.offset)))  # sigmoid, no overflow
        return probs

    def scores(self, embeddings: np.ndarray) -> list[Scores]:
        probs = self.probabilities(embeddings)
        return [{label: float(p) for label, p in zip(self.labels, row, strict=True)} for row in probs]

    def to_json(self) -> str:
        def floats(values: np.ndarray) -> list[Any]:
            # float32 precision is what inference uses; fewer digits keep the file small.
            return np.round(values.astype(np.float64), 7).tolist()  # type: ignore[no-any-return]

        return (
            json.dumps(
                {
                    "format": FORMAT,
                    "labels": list(self.labels),
                    "encoder": self.encoder,
                    "encoder_sha256": self.encoder_sha256,
                    "max_tokens": self.max_tokens,
                    "meta": dict(self.meta),
                    "bias": floats(self.bias),
                    "scale": floats(self.scale),
                    "offset": floats(self.offset),
                    "weights": floats(self.weights.T),  # one row per label
                    **(
                        {}
                        if self.hidden_weights is None or self.hidden_bias is None
                        else {"hidden_weights": floats(self.hidden_weights.T), "hidden_bias": floats(self.hidden_bias)}
                    ),
                },
                separators=(",", ":"),
                sort_keys=True,
            )
            + "\n"
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, *, encoder_sha256: str | None = None) -> Heads:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot read moderation heads {path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelLoadError(f"{path} is not a {FORMAT} file")
        if encoder_sha256 is not None and data.get("encoder_sha256") != encoder_sha256:
            raise ModelLoadError(
                f"{path} was trained for other encoder weights; retrain with `safestream train-moderation`"
            )
        try:
            return cls(
                labels=tuple(data["labels"]),
                weights=np.array(data["weights"], dtype=np.float64).T,
                bias=np.array(data["bias"], dtype=np.float64),
                scale=np.array(data["scale"], dtype=np.float64),
                offset=np.array(data["offset"], dtype=np.float64),
                encoder=str(data["encoder"]),
                encoder_sha256=str(data["encoder_sha256"]),
                max_tokens=int(data.get("max_tokens", 128)),
                meta=data.get("meta", {}),
                hidden_weights=(
                    np.array(data["hidden_weights"], dtype=np.float64).T if "hidden_weights" in data else None
                ),
                hidden_bias=(np.array(data["hidden_bias"], dtype=np.float64) if "hidden_bias" in data else None),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{path} is malformed: {exc}") from exc


def fit_platt(logits: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """Platt scaling by Newton's method on the log loss (deterministic, no RNG)."""
    a, c = 1.0, 0.0
    # Platt's smoothed targets keep the fit finite when a split is separable.
    pos, neg = float(targets.sum()), float(len(targets) - targets.sum())
    soft = np.where(targets > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(a * logits + c)))
        grad = np.array([((p - soft) * logits).sum(), (p - soft).sum()])
        w = p * (1 - p) + 1e-12
        hess = np.array(
            [[(w * logits * logits).sum(), (w * logits).sum()], [(w * logits).sum(), w.sum()]]
        ) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, c = a - float(step[0]), c - float(step[1])
        if np.abs(step).max() < 1e-10:
            break
    return a, c


def auc(targets: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """ROC AUC by the rank statistic (ties share ranks); nan when one class is absent."""
    y = np.asarray(targets, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return float("nan")
    order = s.argsort(kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
