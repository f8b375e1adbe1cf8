"""Multi-label heads over sentence embeddings: the small artifact we train and commit.

A small shared hidden layer (ReLU) reads the 384-d embedding, then one
logistic output per category; a per-category Platt scaler (fit on the
validation split, not on the training rows) turns its logit into a calibrated
probability:

    h = relu(W1 x + b1)          (omitted when the artifact has no hidden layer)
    p = sigmoid(a * (w . h + b) + c)

The artifact is plain JSON (never a pickle: loading it cannot run code) with
the label names, the encoder's name and the sha256 of the encoder weights, and
one set of heads (weights, scalers, validation AUCs) per encoder *variant*:
``fp32`` and ``onnx-int8``, whose vectors differ by up to ~0.03 a coordinate, so
each has heads fit on its own embeddings (int8 ones also name the sha256 of the
int8 graph), and the encoder depth (``layers``) whose vectors they read. Loading
refuses heads trained for other weights or another variant or graph, since their
scores would silently be off; the stage runs the encoder at the heads' depth.
Matrices are base64 float32 (the trained values exactly, half the size of
decimal text).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safestream.moderation.contract import LABELS, ModelLoadError, Scores
from safestream.moderation.encoder import MODEL_LAYERS

FORMAT_1 = "safestream-heads/1"  # one set of heads (fp32 embeddings); still read
FORMAT = "safestream-heads/2"
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
    #: The embeddings these heads read: ``fp32`` (torch and ONNX fp32 agree to 2e-7) or ``onnx-int8``.
    variant: str = "fp32"
    #: For int8: the sha256 of the quantized ONNX graph that produced the training embeddings.
    graph_sha256: str | None = None
    #: How many of the encoder's layers produced the vectors (files without the field: all of them).
    layers: int = MODEL_LAYERS

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

    def entry(self) -> dict[str, Any]:
        """This variant's part of the artifact (``save_artifact``)."""
        return {
            "graph_sha256": self.graph_sha256,
            "meta": dict(self.meta),
            "bias": _floats(self.bias),
            "scale": _floats(self.scale),
            "offset": _floats(self.offset),
            "weights": _f4(self.weights.T),  # one row per label
            **(
                {}
                if self.hidden_weights is None or self.hidden_bias is None
                else {"hidden_weights": _f4(self.hidden_weights.T), "hidden_bias": _floats(self.hidden_bias)}
            ),
        }

    def save(self, path: Path) -> None:
        save_artifact(path, [self])

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        encoder_sha256: str | None = None,
        variant: str = "fp32",
        graph_sha256: str | None = None,
    ) -> Heads:
        """The heads for embeddings of ``variant`` (and, for int8, the graph ``graph_sha256``); refuses others."""
        variants = load_artifact(path, encoder_sha256=encoder_sha256)
        heads = variants.get(variant)
        if heads is None:
            raise ModelLoadError(
                f"{path} has no heads for {variant} embeddings (it has {', '.join(sorted(variants))}); "
                "retrain with `safestream train-moderation`"
            )
        if heads.graph_sha256 != graph_sha256:
            raise ModelLoadError(
                f"{path}'s {variant} heads were trained on the graph {heads.graph_sha256}, "
                f"these embeddings come from {graph_sha256}; retrain with `safestream train-moderation`"
            )
        return heads


def _floats(values: np.ndarray) -> list[Any]:
    # Small vectors (biases, Platt scalers), readable in the file.
    return np.round(values.astype(np.float64), 7).tolist()  # type: ignore[no-any-return]


def _f4(matrix: np.ndarray) -> dict[str, Any]:
    """A matrix as base64 little-endian float32: the trained values exactly, ~5 characters a number."""
    return {"shape": list(matrix.shape), "f4": base64.b64encode(matrix.astype("<f4").tobytes()).decode("ascii")}


def _matrix(value: Any) -> np.ndarray:
    if isinstance(value, dict):  # format 2
        raw = np.frombuffer(base64.b64decode(value["f4"], validate=True), dtype="<f4")
        return raw.reshape(tuple(value["shape"])).astype(np.float64)
    return np.array(value, dtype=np.float64)  # format 1: nested lists


def save_artifact(path: Path, variants: Sequence[Heads], meta: Mapping[str, Any] | None = None) -> None:
    """One file, heads per encoder variant (``fp32``, ``onnx-int8``) for one encoder and label list."""
    first = variants[0]
    shared = (first.labels, first.encoder, first.encoder_sha256, first.max_tokens, first.layers)
    if any((h.labels, h.encoder, h.encoder_sha256, h.max_tokens, h.layers) != shared for h in variants):
        raise ValueError("heads in one artifact must share labels, encoder, layers and max_tokens")
    text = json.dumps(
        {
            "format": FORMAT,
            "labels": list(first.labels),
            "encoder": first.encoder,
            "encoder_sha256": first.encoder_sha256,
            "layers": first.layers,
            "max_tokens": first.max_tokens,
            "meta": dict(meta or {}),
            "variants": {h.variant: h.entry() for h in variants},
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def load_artifact(path: Path, *, encoder_sha256: str | None = None) -> dict[str, Heads]:
    """Every variant's heads in ``path`` (a format 1 file holds ``fp32`` only), checked against the weights."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read moderation heads {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") not in (FORMAT_1, FORMAT):
        raise ModelLoadError(f"{path} is not a {FORMAT} file")
    if encoder_sha256 is not None and data.get("encoder_sha256") != encoder_sha256:
        raise ModelLoadError(
            f"{path} was trained for other encoder weights; retrain with `safestream train-moderation`"
        )
    entries = data["variants"] if data["format"] == FORMAT else {"fp32": data}
    try:
        return {
            variant: Heads(
                labels=tuple(data["labels"]),
                weights=_matrix(entry["weights"]).T,
                bias=np.array(entry["bias"], dtype=np.float64),
                scale=np.array(entry["scale"], dtype=np.float64),
                offset=np.array(entry["offset"], dtype=np.float64),
                encoder=str(data["encoder"]),
                encoder_sha256=str(data["encoder_sha256"]),
                max_tokens=int(data.get("max_tokens", 128)),
                layers=int(data.get("layers", MODEL_LAYERS)),
                meta={**data.get("meta", {}), **(entry.get("meta", {}) if entry is not data else {})},
                hidden_weights=_matrix(entry["hidden_weights"]).T if "hidden_weights" in entry else None,
                hidden_bias=np.array(entry["hidden_bias"], dtype=np.float64) if "hidden_bias" in entry else None,
                variant=str(variant),
                graph_sha256=entry.get("graph_sha256"),
            )
            for variant, entry in entries.items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"{path} is malformed: {exc}") from exc


def fit_platt(logits: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """Platt scaling by Newton's method on the log loss (deterministic, no RNG)."""
    a, c = 1.0, 0.0
    # Platt's smoothed targets keep the fit finite when a split is separable.
    pos, neg = float(targets.sum()), float(len(targets) - targets.sum())
    soft = np.where(targets > 0, (pos + 1) / (pos + 2), 1 / (neg + 2))
    for _ in range(100):
        # Clipped: a separable split drives the margin past exp's range (p is 0 or 1 there anyway).
        p = 1.0 / (1.0 + np.exp(np.clip(-(a * logits + c), -500.0, 500.0)))
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
